"""Python calls per optimizer step (counted by cProfile, not timed): the per-step overhead
of a tiny network is mostly its Python calls, so this count is the machine-independent
check that the optimizers' transforms cost no more calls than the classes they replaced.

Two counts per optimizer: ``apply`` on a 2-4-1 network's parameters (the update alone) and
a whole XOR ``train_step`` (forward, backward, update).  Run it on two checkouts to
compare (``PYTHONPATH=<old>/src python bench/optimizer_calls.py``).

    python bench/optimizer_calls.py [--steps 50]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

import numpy as np

import nnlearn as nl

OPTIMIZERS = {"SGD": lambda: nl.optimizers.SGD(0.1),
              "SGD momentum": lambda: nl.optimizers.SGD(0.1, momentum=0.9),
              "RMSprop": lambda: nl.optimizers.RMSprop(),
              "Adam": lambda: nl.optimizers.Adam(),
              "Nadam": lambda: nl.optimizers.Nadam(),
              "Adam clipnorm": lambda: nl.optimizers.Adam(clipnorm=1.0)}
if hasattr(nl.optimizers, "AdamW"):
    OPTIMIZERS["AdamW"] = lambda: nl.optimizers.AdamW()


def calls_per_call(function, steps: int) -> float:
    """Python function calls (builtins included) per call of ``function``."""
    function()  # builds, compiles
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(steps):
        function()
    profile.disable()
    return (pstats.Stats(profile).total_calls - 1) / steps  # less profile.disable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([[0], [1], [1], [0]], float)
    print(f"  {'optimizer':<14s}{'apply':>8s}{'train_step':>12s}")
    for name, make in OPTIMIZERS.items():
        model = nl.Sequential([nl.layers.Dense(4, activation="tanh"),
                               nl.layers.Dense(1, activation="sigmoid")], seed=0)
        model.compile(make(), "binary_crossentropy")
        model.build((2,))
        params = model.params
        step = calls_per_call(lambda: model.train_step(x, y), args.steps)  # noqa: B023
        apply = calls_per_call(lambda: model.optimizer.apply(params), args.steps)  # noqa: B023
        print(f"  {name:<14s}{apply - 1:8.1f}{step - 1:12.1f}")  # less the lambda's call


if __name__ == "__main__":
    main()
