"""Time per update step of each optimizer on the main job's parameters, on each kernel
backend (NumPy; numba when the ``fast`` extra is installed), in the same run.

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
from nnlearn.lowering import loops
from nnlearn import optimizers as O

SHAPES = [(784, 512), (512,), (512, 10), (10,)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    machine = nl.utils.environment()
    print(f"update step on {sum(int(np.prod(s)) for s in SHAPES):,} float32 parameters, "
          f"best of 5 x {args.steps} steps; CPU: {machine['cpu']}; BLAS: {machine['blas']}")
    backends = loops.available_backends()
    print(f"  {'optimizer':<14s}" + "".join(f"{b + ' us':>12s}" for b in backends)
          + ("   numpy / numba" if len(backends) > 1 else ""))
    for name, make in [("SGD", lambda: O.SGD(0.01)),
                       ("SGD momentum", lambda: O.SGD(0.01, momentum=0.9)),
                       ("SGD nesterov", lambda: O.SGD(0.01, momentum=0.9, nesterov=True)),
                       ("Adagrad", O.Adagrad), ("Adadelta", O.Adadelta),
                       ("RMSprop", O.RMSprop), ("Adam", O.Adam),
                       ("Adam amsgrad", lambda: O.Adam(amsgrad=True)), ("Nadam", O.Nadam),
                       ("AdamW", O.AdamW), ("SGDW momentum", lambda: O.SGDW(0.01, 0.9)),
                       ("SGD clipnorm", lambda: O.SGD(0.01, clipnorm=1.0))]:
        times = [_time(make, backend, rng, args.steps) for backend in backends]
        ratio = f"{times[0] / times[1]:15.2f}" if len(times) > 1 else ""
        print(f"  {name:<14s}" + "".join(f"{t * 1e6:12.0f}" for t in times) + ratio)


def _time(make, backend: str, rng, steps: int) -> float:
    """Seconds per update: the best of 5 runs of ``steps`` updates on ``backend``."""
    params = [nl.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in SHAPES]
    for p in params:
        p.grad = rng.standard_normal(p.shape).astype(np.float32)
    optimizer = make()
    with loops.use(backend):
        optimizer.apply(params)  # allocate the state (and compile the kernel)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(steps):
                optimizer.apply(params)
            best = min(best, (time.perf_counter() - start) / steps)
    return best


if __name__ == "__main__":
    main()
