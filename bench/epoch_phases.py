"""Where an epoch of the main job goes: seconds per phase of a real ``fit`` epoch.

784 -> Dense(512, relu) -> Dense(10, softmax), RMSprop, batch 128, float32, one epoch of
60,000 MNIST samples, trained by ``model.fit`` itself.  Nothing of the step is copied:
the model and its optimizer are subclasses of the main job's classes whose only change
is a timer around public methods that then call the original, so the epoch runs the
library's own loop and ``train_step``.  The phases:

* fit outside the steps: checking the data, shuffling, gathering each batch (the
  epoch's time minus its ``train_step`` calls);
* forward + loss: ``compute_loss`` (forward to the logits, the fused loss, the penalty
  and the predictions);
* backward: the rest of ``train_step`` (clearing the gradients and ``backward``): its
  time minus the three timed phases inside it;
* optimizer: the optimizer's ``apply``;
* metrics: ``update_metrics`` (the loss tracker and the accuracy).

Overriding ``compute_loss`` keeps the step on the engine (the compiled Dense step of
``nnlearn.lowering.dense_step`` runs only for the library's own classes), so these are the
engine's phases; ``python -m bench`` times the compiled step.

The matrix products of an epoch, timed alone on the same shapes, back to back and with
a batch gather between steps (the timer then counts only the products), are printed
beside them.

``--compiled`` times the compiled Dense step instead (:mod:`nnlearn.lowering.dense_step`, what
``fit`` runs for this network with the ``fast`` extra): a loop of the same public pieces
``train_step`` puts together (gather the batch, ``compiled.compiled_gradients``, the
optimizer's ``apply``, ``update_metrics``), each timed, next to a real ``fit`` epoch.

``--split-update`` runs the experiment behind the README's remark on threads: the
optimizer's public ``update(w, g, state, lr, scratch)`` is overridden so that every
update of a parameter with more than 100,000 values is split in two halves, one of them
on a worker thread (NumPy's ufuncs release the GIL).

    python -m bench.epoch_phases [--epochs 3] [--compiled | --split-update]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nnlearn import Sequential
from nnlearn.demo import build_network, load_mnist_vectors

from .mnist_mlp import epoch_products

PHASES = ("fit outside the steps", "forward + loss", "backward", "optimizer", "metrics")
clock = time.perf_counter


class PhaseTimedSequential(Sequential):
    """A Sequential that adds the seconds spent in its public step methods to
    ``phase_seconds`` ("train_step", "forward + loss", "metrics"; its optimizer, from
    :func:`timed_optimizer`, adds "optimizer")."""

    def __init__(self, layers, seed=None):
        super().__init__(layers, seed=seed)
        self.phase_seconds = dict.fromkeys(("train_step", "forward + loss", "optimizer",
                                            "metrics"), 0.0)

    def train_step(self, x, y):
        start = clock()
        logs = super().train_step(x, y)
        self.phase_seconds["train_step"] += clock() - start
        return logs

    def compute_loss(self, x, y, training=False):
        start = clock()
        result = super().compute_loss(x, y, training)
        self.phase_seconds["forward + loss"] += clock() - start
        return result

    def update_metrics(self, y, predictions, loss):
        start = clock()
        super().update_metrics(y, predictions, loss)
        self.phase_seconds["metrics"] += clock() - start


def timed_optimizer(optimizer, seconds: dict, pool=None):
    """A copy of ``optimizer`` (same class and config, fresh state) whose ``apply`` adds
    its seconds to ``seconds["optimizer"]``; with a thread ``pool``, every update of a
    parameter of more than 100,000 values runs as two halves, one on the pool."""
    base = type(optimizer)

    class Timed(base):
        def apply(self, params):
            start = clock()
            super().apply(params)
            seconds["optimizer"] += clock() - start

    class Split(Timed):
        def update(self, w, g, state, lr, scratch):
            whole = super().update
            if w.size <= 100_000:
                return whole(w, g, state, lr, scratch)
            half = len(w) // 2
            parts = (None, None) if scratch is None else (scratch[:half], scratch[half:])
            first = pool.submit(whole, w[:half], g[:half],
                                {k: v[:half] for k, v in state.items()}, lr, parts[0])
            whole(w[half:], g[half:], {k: v[half:] for k, v in state.items()}, lr, parts[1])
            first.result()

    return (Timed if pool is None else Split)(**optimizer.get_config())


def main_network(pool=None) -> PhaseTimedSequential:
    """The main job's network (``nnlearn.demo.build_network``), compiled the same way,
    with timers."""
    reference = build_network(seed=0)
    model = PhaseTimedSequential(reference.layers, seed=reference.seed)
    model.compile(optimizer=timed_optimizer(reference.optimizer, model.phase_seconds, pool),
                  loss=reference.loss, metrics=[m.name for m in reference.metrics])
    return model


def epoch(model, x, y, seed: int, batch_size: int = 128) -> dict:
    """Seconds per phase of one ``fit`` epoch."""
    for key in model.phase_seconds:
        model.phase_seconds[key] = 0.0
    start = clock()
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, seed=seed)
    total = clock() - start
    inside = model.phase_seconds
    timed = inside["forward + loss"] + inside["optimizer"] + inside["metrics"]
    return {"fit outside the steps": total - inside["train_step"],
            "forward + loss": inside["forward + loss"],
            "backward": inside["train_step"] - timed,
            "optimizer": inside["optimizer"], "metrics": inside["metrics"]}


def compiled_epoch(model, x, y, seed: int, batch_size: int = 128) -> dict:
    """Seconds per phase of an epoch of compiled steps (see the module), and of one real
    ``fit`` epoch of the same model."""
    from nnlearn.lowering import planner

    seconds = dict.fromkeys(("gather", "compiled gradients", "optimizer", "metrics"), 0.0)
    order = np.random.default_rng(seed).permutation(len(x))
    for start in range(0, len(x), batch_size):
        t0 = clock()
        index = order[start:start + batch_size]
        xb, yb = x.take(index, axis=0), y.take(index, axis=0)
        t1 = clock()
        loss, outputs = planner.compiled_gradients(model, xb)(xb, yb)
        t2 = clock()
        model.optimizer.apply(model.params)
        t3 = clock()
        model.update_metrics(yb, outputs, loss)
        t4 = clock()
        for phase, spent in zip(seconds, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            seconds[phase] += spent
    start = clock()
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, seed=seed)
    return {**seconds, "fit epoch": clock() - start}


def main_compiled(x, y, epochs: int, optimizer: str = "rmsprop") -> None:
    model = build_network(seed=0)
    if optimizer != "rmsprop":   # by name, with its defaults, as python -m bench's Adam row
        model.compile(optimizer=optimizer, loss=model.loss,
                      metrics=[m.name for m in model.metrics])
    model.fit(x[:1280], y[:1280], epochs=1, batch_size=128, verbose=0)  # builds the state
    runs = [compiled_epoch(model, x, y, seed) for seed in range(epochs)]
    best = {phase: min(run[phase] for run in runs) for phase in runs[0]}
    floor = min(epoch_products() for _ in range(epochs))
    print(f"main job epoch, compiled step, {optimizer}; the fastest of {epochs} epochs per "
          "phase:")
    for phase, spent in best.items():
        print(f"  {phase:<22s} {spent:6.3f} s")
    print(f"  the matrix products alone: {floor:.3f} s back to back (fit epoch / products "
          f"= {best['fit epoch'] / floor:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--split-update", action="store_true",
                        help="split the large updates over two threads (an experiment)")
    parser.add_argument("--compiled", action="store_true",
                        help="time the compiled Dense step (the fast extra) instead")
    parser.add_argument("--optimizer", default="rmsprop", choices=("rmsprop", "adam"),
                        help="with --compiled: the main job's optimizer or Adam")
    args = parser.parse_args()
    (x, y), _ = load_mnist_vectors()
    if args.compiled:
        return main_compiled(x, y, args.epochs, args.optimizer)
    model = main_network(ThreadPoolExecutor(1) if args.split_update else None)
    model.fit(x[:1280], y[:1280], epochs=1, batch_size=128, verbose=0)  # builds the state
    runs = [epoch(model, x, y, seed) for seed in range(args.epochs)]
    best = min(runs, key=lambda r: sum(r.values()))
    rng = np.random.default_rng(0)
    floor = min(epoch_products() for _ in range(args.epochs))
    interleaved = min(epoch_products(x, rng.permutation(len(x))) for _ in range(args.epochs))
    mode = "update split over 2 threads" if args.split_update else "as fit runs it"
    print(f"main job epoch ({mode}, model.fit); the fastest of {args.epochs} epochs:")
    for phase in PHASES:
        print(f"  {phase:<22s} {best[phase]:6.3f} s")
    total = sum(best.values())
    print(f"  {'total':<22s} {total:6.3f} s")
    print(f"  the matrix products alone: {floor:.3f} s back to back (total / products = "
          f"{total / floor:.2f}), {interleaved:.3f} s between batch gathers")


if __name__ == "__main__":
    main()
