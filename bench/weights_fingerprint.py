"""SHA-256 of the main job's weights after one seeded epoch: run it on two commits to
check that a refactor changed no result, bit for bit.

784 -> Dense(512, relu) -> Dense(10, softmax), RMSprop, batch 128, ``fit(seed=0)`` for one
epoch of the 60,000 MNIST images.  Prints one line per weight array, one for the optimizer
state and one for the loss.  Bit equality holds on one machine and BLAS build (another CPU
kernel may round the products differently).  ``--engine`` computes the gradients on the
autodiff engine (``nnlearn.lowering.planner.settings(compiled_step=False)``); by default a Dense
stack with numba installed takes the compiled step, whose sums run in another order
(equal to rounding, not bit for bit).

    python bench/weights_fingerprint.py [--engine]
    git worktree add /tmp/before <commit> && PYTHONPATH=/tmp/before/src \\
        python bench/weights_fingerprint.py
"""

from __future__ import annotations

import hashlib

import numpy as np

from nnlearn.demo import build_network, load_mnist_vectors


def fingerprints(seed: int = 0) -> dict:
    (x, y), _ = load_mnist_vectors()
    model = build_network(seed=seed)
    history = model.fit(x, y, epochs=1, batch_size=128, seed=seed, verbose=0)
    arrays = {f"weight {i}": w for i, w in enumerate(model.get_weights())}
    arrays["optimizer state"] = np.concatenate([s.ravel() for s in model.optimizer.get_state()])
    arrays["loss"] = np.array(history.history["loss"])
    return {name: hashlib.sha256(np.ascontiguousarray(a)).hexdigest()[:16]
            for name, a in arrays.items()}


if __name__ == "__main__":
    import argparse
    import contextlib

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", action="store_true",
                        help="gradients on the autodiff engine, not the compiled Dense step")
    args = parser.parse_args()
    try:  # the switch, by its release-0.1 name (every nnlearn since has it)
        from nnlearn.planner import settings  # (the old name: every commit has it)
        engine = settings(compiled_step=False)
    except ImportError:  # an older nnlearn (run on an old commit) had its own
        from nnlearn.lowering.dense_step import disabled
        engine = disabled()
    with engine if args.engine else contextlib.nullcontext():
        for name, digest in fingerprints().items():
            print(f"{name:<16s} {digest}")
