"""Time per update step of each optimizer on the main job's parameters.

The parameters and gradients of 784-512-10 (407,050 float32 values in four arrays, as
in the main job's network); one step = ``optimizer.apply(params)``, the update from the
gradients in ``.grad`` that a training step applies, in place.

    python bench/optimizers.py [--steps 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nnlearn as nl
from nnlearn import optimizers as O

SHAPES = [(784, 512), (512,), (512, 10), (10,)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"update step on {sum(int(np.prod(s)) for s in SHAPES):,} float32 parameters, "
          f"best of 5 x {args.steps} steps")
    for name, make in [("SGD", lambda: O.SGD(0.01)),
                       ("SGD momentum", lambda: O.SGD(0.01, momentum=0.9)),
                       ("SGD nesterov", lambda: O.SGD(0.01, momentum=0.9, nesterov=True)),
                       ("Adagrad", O.Adagrad), ("Adadelta", O.Adadelta),
                       ("RMSprop", O.RMSprop), ("Adam", O.Adam),
                       ("Adam amsgrad", lambda: O.Adam(amsgrad=True)), ("Nadam", O.Nadam),
                       ("SGD clipnorm", lambda: O.SGD(0.01, clipnorm=1.0))]:
        params = [nl.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
                  for s in SHAPES]
        for p in params:
            p.grad = rng.standard_normal(p.shape).astype(np.float32)
        optimizer = make()
        optimizer.apply(params)  # allocate the state
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(args.steps):
                optimizer.apply(params)
            best = min(best, (time.perf_counter() - start) / args.steps)
        print(f"  {name:<14s} {best * 1e6:8.0f} us/step")


if __name__ == "__main__":
    main()
