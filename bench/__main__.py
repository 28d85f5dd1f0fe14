"""The benchmark suite: ``python -m bench`` (from the repository root).

For each workload it prints nnlearn's time, each peer's time measured in the same run
when the peer is installed (PyTorch, Keras on its torch backend, scikit-learn), the
ratios, and the time of the matrix products alone for the same shapes (the floor for
that workload).  The last column holds the performance goals (ratios nnlearn / peer at
most the number given) and whether this run met them.  The CPU, the BLAS library with
its kernel and the backend of nnlearn's element-wise kernels are printed above the table.

Workloads: the main job's epoch (784-512-10, batch 128, float32) with RMSprop and with
Adam, on each kernel backend installed; a training step (the model's own ``train_step``)
of the XOR net (2-2-1), and an XOR epoch through ``fit``; a step of the sin regression
net (1-3-1, 100 samples, full batch) and of a deep narrow net (10 tanh layers of 64,
batch 128); one full-batch L-BFGS iteration on the sin net (the ``train_step`` of a
model compiled with L-BFGS); predict on 10,000 MNIST-sized samples; MLPClassifier's fit
against scikit-learn's on the digits and on MNIST; the main job's peak memory; and
``import nnlearn``.

    python -m bench [--quick] [--no-peers] [--json FILE]

``--no-peers`` times nnlearn alone (no PyTorch, Keras or scikit-learn runs) and
``--json`` writes the rows as JSON: ``bench/compare.py`` uses both to compare two
commits in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import nnlearn as nl
from nnlearn.layers import Dense

from . import engine_overhead


def best(fn, number: int, repeats: int = 5) -> float:
    """Seconds per call of fn: the best of ``repeats`` runs of ``number`` calls, after a
    warm-up."""
    for _ in range(max(1, number // 10)):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


NO_PEERS = False  # --no-peers: nnlearn's own figures only


def _torch():
    if NO_PEERS:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


def _keras():
    """Keras 3 on the torch backend (unless KERAS_BACKEND says otherwise), or None."""
    import os

    if NO_PEERS:
        return None
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return None
    return keras


def _row(name, unit, ours, floor=None, goals=None, at_most=None, at_least=None, **peers):
    """One line of the table: peers are torch=, keras=, sklearn= (None: not measured);
    goals maps a column (a peer or "matmul") to the largest acceptable ratio; at_most and
    at_least bound nnlearn's own figure."""
    return {"name": name, "unit": unit, "ours": ours, "floor": floor, "goals": goals or {},
            "at_most": at_most, "at_least": at_least, **peers}


# -- small networks: one training step --------------------------------------------------
def _nnlearn_step(layers, x, y, loss, learning_rate=0.1):
    """The model's own ``train_step`` on (x, y): forward, loss, backward, SGD update and
    the loss tracker, as ``fit`` runs it for every batch."""
    model = nl.Sequential(layers, seed=0)
    model.compile(optimizer=nl.optimizers.SGD(learning_rate), loss=loss)
    model.build(x.shape[1:])
    return lambda: model.train_step(x, y)


def _torch_step(torch, sizes, activation, x, y, loss, learning_rate=0.1):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(net.parameters(), lr=learning_rate)
    criterion = loss
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        criterion(net(tx), ty).backward()
        optimizer.step()

    return step


def _fit_epoch(number: int) -> float:
    """Seconds per epoch of ``model.fit`` on the XOR network (one step per epoch, with
    everything fit does around it), the best of 5 fits of ``number`` epochs."""
    from nnlearn.experiments.xor import X_XOR, Y_XOR, xor_network

    model = xor_network(seed=0, learning_rate=0.1)
    model.fit(X_XOR, Y_XOR, epochs=10, batch_size=4, verbose=0)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        model.fit(X_XOR, Y_XOR, epochs=number, batch_size=4, verbose=0)
        times.append((time.perf_counter() - start) / number)
    return min(times)


def _matmuls(sizes, batch):
    """The forward and backward matrix products of a dense net, nothing else."""
    rng = np.random.default_rng(0)
    ws = [rng.random((a, b), dtype=np.float32) for a, b in zip(sizes, sizes[1:])]
    acts = [rng.random((batch, a), dtype=np.float32) for a in sizes]

    def products():
        for w, a_in, a_out in zip(ws, acts, acts[1:]):
            a_in @ w            # forward
            a_in.T @ a_out      # dL/dW
            a_out @ w.T         # dL/d(input)

    return products


def _keras_step(keras, sizes, activation, x, y, loss):
    layers = [keras.Input(sizes[:1])]
    layers += [keras.layers.Dense(n, activation=activation) for n in sizes[1:-1]]
    layers.append(keras.layers.Dense(sizes[-1]))
    net = keras.Sequential(layers)
    net.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    return lambda: net.train_on_batch(x, y)


def small_networks(torch, keras, quick: bool):
    rng = np.random.default_rng(0)
    number = 300 if quick else 2000
    rows = []
    sin_x = (2 * rng.random((100, 1)) - 1).astype(np.float32)
    sin_y = np.sin(np.pi * sin_x).astype(np.float32)
    deep_x = rng.standard_normal((128, 64)).astype(np.float32)
    deep_y = rng.integers(0, 10, 128)
    cases = [
        ("sin step 1-3-1 (100 samples)", [1, 3, 1], "sigmoid", sin_x, sin_y, "mse"),
        ("deep narrow step 10x64 tanh", [64] + [64] * 10 + [10], "tanh", deep_x, deep_y,
         "sparse_categorical_crossentropy"),
    ]
    xor = engine_overhead.nnlearn_step()
    ours = best(xor, number)
    theirs = None
    if torch is not None:
        variants, _ = engine_overhead.torch_steps()
        theirs = best(variants["nn.Sequential + optim.SGD"], number)
    keras_xor = None
    if keras is not None:
        from nnlearn.experiments.xor import X_XOR, Y_XOR

        keras_xor = best(_keras_step(keras, [2, 2, 1], "sigmoid", X_XOR, Y_XOR,
                                     keras.losses.BinaryCrossentropy(from_logits=True)),
                         max(10, number // 10)) * 1e6
    rows.append(_row("XOR step 2-2-1 (4 samples)", "us", ours * 1e6,
                     best(_matmuls([2, 2, 1], 4), number) * 1e6,
                     torch=theirs and theirs * 1e6, keras=keras_xor))
    rows.append(_row("XOR epoch through fit (4 samples)", "us",
                     _fit_epoch(number) * 1e6, goals={"torch": 0.15},
                     torch=theirs and theirs * 1e6))
    for name, sizes, act, x, y, loss in cases:
        out = "softmax" if loss.startswith("sparse") else None
        layers = [Dense(n, activation=act) for n in sizes[1:-1]] + \
                 [Dense(sizes[-1], activation=out)]
        ours = best(_nnlearn_step(layers, x, y, loss), number)
        theirs = None
        if torch is not None:
            criterion = (torch.nn.CrossEntropyLoss() if loss.startswith("sparse")
                         else torch.nn.MSELoss())
            target = y.astype(np.int64) if loss.startswith("sparse") else y
            activation = torch.nn.Sigmoid if act == "sigmoid" else torch.nn.Tanh
            theirs = best(_torch_step(torch, sizes, activation, x, target, criterion), number)
        keras_time = None
        if keras is not None:
            keras_loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                          if loss.startswith("sparse") else "mse")
            keras_time = best(_keras_step(keras, sizes, act, x, y, keras_loss),
                              max(10, number // 10)) * 1e6
        rows.append(_row(name, "us", ours * 1e6, best(_matmuls(sizes, len(x)), number) * 1e6,
                         {"torch": 0.15} if name.startswith("sin") else None,
                         torch=theirs and theirs * 1e6, keras=keras_time))
    return rows


def lbfgs_iteration(torch, quick: bool):
    """One full-batch L-BFGS iteration (with its line search) on the 1-3-1 sin net: one
    ``train_step`` of a model compiled with L-BFGS."""
    rng = np.random.default_rng(1)
    x = (2 * rng.random((100, 1)) - 1)
    y = np.sin(np.pi * x) + rng.normal(0, 0.1, x.shape)
    model = nl.Sequential([Dense(3, activation="sigmoid"), Dense(1)], seed=0, dtype="float64")
    model.compile(optimizer="lbfgs", loss="mse")
    model.build(x.shape[1:])
    iterations = 20 if quick else 100
    for _ in range(3):  # warm up (the first step compiles the element-wise kernels)
        model.train_step(x, y)
    start = time.perf_counter()
    for _ in range(iterations):  # an L-BFGS model's train_step is one full iteration
        model.train_step(x, y)
    ours = (time.perf_counter() - start) / iterations
    theirs = None
    if torch is not None:
        net = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.Sigmoid(),
                                  torch.nn.Linear(3, 1)).double()
        optimizer = torch.optim.LBFGS(net.parameters(), max_iter=1, history_size=10,
                                      line_search_fn="strong_wolfe")
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def closure():
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(net(tx), ty)
            loss.backward()
            return loss

        start = time.perf_counter()
        for _ in range(iterations):
            optimizer.step(closure)
        theirs = (time.perf_counter() - start) / iterations
    return [_row("L-BFGS iteration, sin net", "us", ours * 1e6, torch=theirs and theirs * 1e6)]


def predict_throughput(torch, keras, quick: bool):
    from nnlearn.demo import build_network

    rng = np.random.default_rng(2)
    x = rng.random((10_000, 784), dtype=np.float32)
    model = build_network(0)
    model.build((784,))
    number = 5 if quick else 20
    ours = best(lambda: model.predict(x), number)
    theirs = None
    if torch is not None:
        net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                  torch.nn.Linear(512, 10), torch.nn.Softmax(dim=1))
        tx = torch.from_numpy(x)

        def predict():
            with torch.no_grad():
                net(tx)

        theirs = best(predict, number)
    keras_time = None
    if keras is not None:
        net = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                                keras.layers.Dense(10, activation="softmax")])
        keras_time = best(lambda: net.predict(x, batch_size=1024, verbose=0), number)
    w1 = rng.random((784, 512), dtype=np.float32)
    w2 = rng.random((512, 10), dtype=np.float32)
    h = rng.random((10_000, 512), dtype=np.float32)
    floor = best(lambda: (x @ w1, h @ w2), number)
    return [_row("predict 10,000 samples, main net", "ms", ours * 1e3, floor * 1e3,
                 torch=theirs and theirs * 1e3, keras=keras_time and keras_time * 1e3)]


def _accuracy_row(epochs: int, ours: float, **peers):
    """Test accuracy after ``epochs``; the goal holds for the main job's own 5 epochs."""
    return _row(f"main job test accuracy, {epochs} epoch{'s' * (epochs > 1)}", "", ours,
                at_least=0.978 if epochs == 5 else None, **peers)


def main_job(optimizer: str, epochs: int):
    """Epoch time and peak memory, each framework in its own process (bench/mnist_mlp.py);
    nnlearn on each kernel backend this installation has."""
    def run(worker, kernels="auto"):
        env = {**os.environ, "NNLEARN_KERNELS": kernels,  # numpy: every fast path off
               "NNLEARN_COMPILED_STEP": "off" if kernels == "numpy" else "auto",
               "NNLEARN_CONV_LOOPS": "off" if kernels == "numpy" else "auto"}
        out = subprocess.run([sys.executable, "-m", "bench.mnist_mlp", "--worker", worker,
                              "--epochs", str(epochs), "--optimizer", optimizer],
                             capture_output=True, text=True, env=env)
        return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None

    ours = run("nnlearn")
    theirs, keras, floor = (None, None, None) if NO_PEERS else \
        (run("torch"), run("keras"), run("matmul"))
    epoch = {"torch": theirs and min(theirs["epoch_s"]), "keras": keras and min(keras["epoch_s"])}
    rows = [_row(f"main job epoch, {optimizer} ({nl.kernels.backend()})", "s",
                 min(ours["epoch_s"]), floor and min(floor["epoch_s"]),
                 {"torch": 0.85, "matmul": 1.4},
                 **epoch)]
    if nl.kernels.backend() != "numpy":
        numpy_path = run("nnlearn", "numpy")
        rows.append(_row(f"main job epoch, {optimizer} (numpy)", "s",
                         min(numpy_path["epoch_s"]), floor and min(floor["epoch_s"]),
                         **epoch))
    if optimizer == "rmsprop":
        rows.append(_row("main job peak memory", "MB", ours["peak_rss_mb"], at_most=600,
                         torch=theirs and theirs["peak_rss_mb"],
                         keras=keras and keras["peak_rss_mb"]))
        rows.append(_accuracy_row(epochs, ours["test_accuracy"],
                                  torch=theirs and theirs["test_accuracy"],
                                  keras=keras and keras["test_accuracy"]))
    return rows


def import_time(runs: int = 5):
    """``import nnlearn`` in a fresh interpreter: the best of ``runs`` (one import is at
    the mercy of the disk cache and of whatever else the machine is doing)."""
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import nnlearn"],
                             capture_output=True, text=True)
        line = [ln for ln in out.stderr.splitlines() if ln.rstrip().endswith("| nnlearn")][-1]
        times.append(int(line.split("|")[1]) / 1e3)
    return [_row("import nnlearn", "ms", min(times), at_most=250)]


def sklearn_rows(quick: bool):
    """MLPClassifier's fit against scikit-learn's, same data and settings, float64, in
    the same run: on scikit-learn's digits (1,797 samples of 64 pixels: small data,
    where per-step overhead dominates) and on 784-100-10 MNIST (20,000 images, where
    both libraries share the float64 products)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.neural_network import MLPClassifier as SklearnMLP
    except ImportError:
        return []
    import warnings

    from nnlearn.demo import load_mnist_vectors
    from nnlearn.estimators import MLPClassifier

    digits_x, digits_y = load_digits(return_X_y=True)
    (mnist_x, mnist_y), _ = load_mnist_vectors()
    n = 5000 if quick else 20000
    cases = [("MLPClassifier fit, digits (64-100-10)", digits_x / 16.0, digits_y,
              20 if quick else 100, 0.5),
             ("MLPClassifier fit, MNIST (784-100-10)", mnist_x[:n].astype(np.float64),
              mnist_y[:n].argmax(1), 3 if quick else 10, 0.7)]
    rows = []
    for name, x, y, epochs, goal in cases:
        settings = dict(hidden_layer_sizes=(100,), max_iter=epochs, n_iter_no_change=10**6,
                        random_state=0)
        times = {MLPClassifier: []} if NO_PEERS else {MLPClassifier: [], SklearnMLP: []}
        for cls in times:  # a warm-up fit each (numba compiles the float64 kernels here)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cls(**{**settings, "max_iter": 2}).fit(x[:500], y[:500])
        for _ in range(1 if quick else 2):  # interleaved; the fastest kept
            for cls in times:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    cls(**settings).fit(x, y)
                    times[cls].append(time.perf_counter() - start)
        rows.append(_row(f"{name}, {epochs} epochs", "s", min(times[MLPClassifier]),
                         goals={"sklearn": goal},
                         sklearn=min(times[SklearnMLP]) if SklearnMLP in times else None))
    return rows


PEERS = ("torch", "keras", "sklearn", "matmul")


def _goal_cell(row) -> str:
    """The goals and whether this run met them, e.g. "torch<=0.7 MISSED"."""
    parts, met = [], []
    for column, limit in row["goals"].items():
        value = row.get(column) if column != "matmul" else row["floor"]
        parts.append(f"{column}<={limit:g}")
        if value:
            met.append(row["ours"] / value <= limit)
    if row["at_most"] is not None:
        parts.append(f"<={row['at_most']:g}")
        met.append(row["ours"] <= row["at_most"])
    if row["at_least"] is not None:
        parts.append(f">={row['at_least']:g}")
        met.append(row["ours"] >= row["at_least"])
    if not parts:
        return ""
    return " ".join(parts) + ("" if not met else " met" if all(met) else " MISSED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions, one epoch of the main job")
    parser.add_argument("--no-peers", action="store_true",
                        help="time nnlearn alone (no PyTorch, Keras or scikit-learn)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args()
    global NO_PEERS
    NO_PEERS = args.no_peers
    torch, keras = _torch(), _keras()
    epochs = 1 if args.quick else 5  # the main job trains 5 epochs
    rows = []
    for part in (lambda: main_job("rmsprop", epochs), lambda: main_job("adam", epochs),
                 lambda: small_networks(torch, keras, args.quick),
                 lambda: lbfgs_iteration(torch, args.quick),
                 lambda: predict_throughput(torch, keras, args.quick),
                 lambda: sklearn_rows(args.quick), import_time):
        rows += part()
    peers = [f"PyTorch {torch.__version__}" if torch else "PyTorch not installed",
             f"Keras {keras.__version__} ({keras.backend.backend()})" if keras
             else "Keras not installed"]
    print(f"nnlearn {nl.__version__}, numpy {np.__version__}; {'; '.join(peers)}")
    machine = nl.utils.environment()
    print(f"CPU: {machine['cpu']} ({machine['cores']} cores); BLAS: {machine['blas']}; "
          f"element-wise kernels: {machine['kernels']}")
    header = (f"{'workload':<38s} {'unit':>4s} {'nnlearn':>9s} "
              + " ".join(f"{p:>9s} {'ratio':>6s}" for p in PEERS) + "  goal")
    print(header)
    print("-" * len(header))

    def cell(value, width=9):
        return f"{value:>{width}.4g}" if value is not None else " " * (width - 1) + "-"

    def ratio(a, b):
        return f"{a / b:>6.2f}" if a is not None and b else "     -"

    for row in rows:
        line = f"{row['name']:<38s} {row['unit']:>4s} {cell(row['ours'])}"
        for peer in PEERS:
            value = row["floor"] if peer == "matmul" else row.get(peer)
            line += f" {cell(value)} {ratio(row['ours'], value)}"
        print(line + "  " + _goal_cell(row))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(rows, file)


if __name__ == "__main__":
    main()
