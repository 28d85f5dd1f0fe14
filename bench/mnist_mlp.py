"""Seconds per epoch and peak memory of the main job's network (Chollet 2017, ch. 2).

784 -> Dense(512, relu) -> Dense(10, softmax), RMSprop, batch 128, one epoch = 60,000
MNIST samples, float32.  Each framework runs in its own process, so its peak resident
memory (ru_maxrss, data loading included) is its own.  PyTorch and Keras (on its torch
backend) are timed in the same run when installed.

    python bench/mnist_mlp.py [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def load():
    from nnlearn.demo import load_mnist_vectors

    (x_train, y_train), (x_test, y_test) = load_mnist_vectors()
    return x_train, y_train, x_test, y_test


def run_nnlearn(epochs: int, optimizer: str = "rmsprop") -> dict:
    from nnlearn.demo import build_network

    x_train, y_train, x_test, y_test = load()
    model = build_network(seed=0)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    times = []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=1, batch_size=128, verbose=0, seed=epoch)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    accuracy = model.evaluate(x_test, y_test)[1]
    return {"epoch_s": times, "test_accuracy": accuracy,
            "evaluate_s": time.perf_counter() - start}


def run_torch(epochs: int, optimizer: str = "rmsprop") -> dict:
    import torch

    x_train, y_train, x_test, y_test = load()
    torch.manual_seed(0)
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train.argmax(1))
    net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                              torch.nn.Linear(512, 10))
    if optimizer == "adam":
        optimizer = torch.optim.Adam(net.parameters(), lr=0.001, eps=1e-7)
    else:
        optimizer = torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    criterion = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = order[i:i + 128]
            optimizer.zero_grad()
            criterion(net(x[idx]), y[idx]).backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        accuracy = (net(torch.from_numpy(x_test)).argmax(1).numpy()
                    == y_test.argmax(1)).mean()
    return {"epoch_s": times, "test_accuracy": float(accuracy),
            "version": torch.__version__, "threads": torch.get_num_threads()}


def run_keras(epochs: int, optimizer: str = "rmsprop") -> dict:
    """The book's own Keras code: keras.Sequential, compile, fit (the torch backend by default)."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    x_train, y_train, x_test, y_test = load()
    keras.utils.set_random_seed(0)
    network = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                                keras.layers.Dense(10, activation="softmax")])
    network.compile(optimizer=optimizer, loss="categorical_crossentropy",
                    metrics=["accuracy"])
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        network.fit(x_train, y_train, epochs=1, batch_size=128, verbose=0)
        times.append(time.perf_counter() - start)
    accuracy = network.evaluate(x_test, y_test, verbose=0)[1]
    return {"epoch_s": times, "test_accuracy": float(accuracy),
            "version": f"{keras.__version__} ({keras.backend.backend()})"}


def epoch_products(x=None, order=None, batch_size=128) -> float:
    """Seconds spent in one epoch's matrix products (forward, and the backward's weight
    and input gradients) on random data of the main job's shapes, nothing else.  With the
    training images ``x`` and an ``order``, each step's products take that step's gathered
    batch, so that they run between other work as they do in training (the timer counts
    only the products)."""
    rng = np.random.default_rng(0)
    xb = rng.random((batch_size, 784), dtype=np.float32)
    w1 = rng.random((784, 512), dtype=np.float32)
    w2 = rng.random((512, 10), dtype=np.float32)
    h = rng.random((batch_size, 512), dtype=np.float32)
    g2 = rng.random((batch_size, 10), dtype=np.float32)
    seconds = 0.0
    for step in range(60_000 // batch_size + 1):
        if x is not None:
            xb = x[order[step * batch_size:(step + 1) * batch_size]]
            h, g2 = h[:len(xb)], g2[:len(xb)]
        start = time.perf_counter()
        xb @ w1, h @ w2                  # forward
        h.T @ g2, g2 @ w2.T, xb.T @ h    # backward: dW2, dH, dW1
        seconds += time.perf_counter() - start
    return seconds


def matmul_only(epochs: int, optimizer: str = "") -> dict:
    """The floor for an epoch: its matrix products back to back, ``epochs`` times."""
    return {"epoch_s": [epoch_products() for _ in range(epochs)]}


def worker(name: str, epochs: int, optimizer: str) -> None:
    run = {"nnlearn": run_nnlearn, "torch": run_torch, "keras": run_keras,
           "matmul": matmul_only}[name]
    result = run(epochs, optimizer)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--optimizer", default="rmsprop", choices=("rmsprop", "adam"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.epochs, args.optimizer)
        return

    def measure(name):
        out = subprocess.run([sys.executable, __file__, "--worker", name, "--epochs",
                              str(args.epochs), "--optimizer", args.optimizer],
                             capture_output=True, text=True)
        if out.returncode != 0:
            return None, out.stderr.strip().splitlines()[-1] if out.stderr else "failed"
        return json.loads(out.stdout.strip().splitlines()[-1]), None

    print(f"MNIST 784-512-10, {args.optimizer}, batch 128, float32; best of {args.epochs} "
          "epochs")
    ours, err = measure("nnlearn")
    if ours is None:
        sys.exit(f"nnlearn run failed: {err}")
    floor, _ = measure("matmul")
    best = min(ours["epoch_s"])
    print(f"  nnlearn          {best:6.2f} s/epoch   peak {ours['peak_rss_mb']:6.0f} MB   "
          f"test accuracy after {args.epochs} epochs {ours['test_accuracy']:.4f}")
    print(f"  matmul only      {min(floor['epoch_s']):6.2f} s/epoch   "
          f"(nnlearn / matmul = {best / min(floor['epoch_s']):.2f})")
    for peer, install in (("torch", "pip install torch==2.13.0"), ("keras", "pip install keras")):
        theirs, err = measure(peer)
        if theirs is None:
            print(f"  {peer}: not measured ({err}); {install}")
            continue
        print(f"  {peer} {theirs['version']:<14s} {min(theirs['epoch_s']):6.2f} s/epoch   peak "
              f"{theirs['peak_rss_mb']:6.0f} MB   test accuracy {theirs['test_accuracy']:.4f}")
        print(f"  ratio nnlearn / {peer}: {best / min(theirs['epoch_s']):.2f}")

if __name__ == "__main__":
    main()
