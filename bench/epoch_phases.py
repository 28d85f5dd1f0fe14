"""Where an epoch of the main job goes: seconds per phase of ``Sequential.fit``'s loop.

784 -> Dense(512, relu) -> Dense(10, softmax), RMSprop, batch 128, float32, one epoch of
60,000 MNIST samples.  The loop below is the one in ``Sequential._minibatch_epoch`` with
a timer around each phase: gathering the shuffled batch, forward (with the loss),
backward, the optimizer's update, the accuracy metric.  The matrix products of an
epoch, timed alone on the same shapes, back to back and with a batch gather between
steps (the timer then counts only the products), are printed beside them.

``--split-update`` runs the experiment behind the README's remark on threads: every
update of a parameter with more than 100,000 values is split in two halves, one of them
on a worker thread (NumPy's ufuncs release the GIL).

    python -m bench.epoch_phases [--epochs 3] [--split-update]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nnlearn.demo import build_network, load_mnist_vectors

from .mnist_mlp import epoch_products

PHASES = ("gather", "forward + loss", "backward", "optimizer", "metric")


def split_update(optimizer, pool):
    """Make ``optimizer`` update large parameters as two halves, one on ``pool``."""
    whole = optimizer.update

    def update(w, g, state, lr):
        if w.size <= 100_000:
            return whole(w, g, state, lr)
        half = len(w) // 2
        first = pool.submit(whole, w[:half], g[:half],
                            {k: v[:half] for k, v in state.items()}, lr)
        whole(w[half:], g[half:], {k: v[half:] for k, v in state.items()}, lr)
        first.result()

    optimizer.update = update


def epoch(model, x, y, order, batch_size=128) -> dict:
    seconds = dict.fromkeys(PHASES, 0.0)
    params, optimizer = model.params, model.optimizer
    (_, accuracy), = model.metrics
    clock = time.perf_counter
    for start in range(0, len(order), batch_size):
        t0 = clock()
        idx = order[start:start + batch_size]
        xb, yb = x[idx], y[idx]
        t1 = clock()
        loss, predictions = model._batch_loss(xb, yb, training=True)
        t2 = clock()
        for p in params:
            p.grad = None
        loss.backward()
        t3 = clock()
        optimizer.step(params)
        t4 = clock()
        accuracy(yb, predictions)
        t5 = clock()
        for phase, a, b in zip(PHASES, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
            seconds[phase] += b - a
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--split-update", action="store_true",
                        help="split the large updates over two threads (an experiment)")
    args = parser.parse_args()
    (x, y), _ = load_mnist_vectors()
    model = build_network(seed=0)
    model.fit(x[:1280], y[:1280], epochs=1, batch_size=128, verbose=0)  # builds the state
    if args.split_update:
        split_update(model.optimizer, ThreadPoolExecutor(1))
    rng = np.random.default_rng(0)
    runs = []
    for _ in range(args.epochs):
        runs.append(epoch(model, x, y, rng.permutation(len(x))))
    best = min(runs, key=lambda r: sum(r.values()))
    floor = min(epoch_products() for _ in range(args.epochs))
    interleaved = min(epoch_products(x, rng.permutation(len(x))) for _ in range(args.epochs))
    mode = "update split over 2 threads" if args.split_update else "as fit runs it"
    print(f"main job epoch, {mode}; the fastest of {args.epochs} epochs:")
    for phase in PHASES:
        print(f"  {phase:<16s} {best[phase]:6.3f} s")
    total = sum(best.values())
    print(f"  {'total':<16s} {total:6.3f} s")
    print(f"  the matrix products alone: {floor:.3f} s back to back (total / products = "
          f"{total / floor:.2f}), {interleaved:.3f} s between batch gathers")


if __name__ == "__main__":
    main()
