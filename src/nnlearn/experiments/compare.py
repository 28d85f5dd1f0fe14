"""The optimizer comparison harness: one architecture trained with several optimizers from
the same initial weights (lesson 6's experiment ``optimizers``; also importable as
``nnlearn.optimizers.compare``)."""

from __future__ import annotations

import numpy as np

__all__ = ["compare"]


def compare(build_model, optimizers, x, y, epochs: int = 10, batch_size: int = 32,
            loss="categorical_crossentropy", seed: int = 0, verbose: int = 0) -> dict:
    """Train one architecture with each optimizer from the same initial weights (e.g. to
    compare mini-batch SGD, momentum, adaptive learning rates and L-BFGS).

    Parameters
    ----------
    build_model : callable returning an uncompiled Sequential
    optimizers : dict name -> optimizer (instance, name or config)

    Returns
    -------
    dict name -> list of the training loss after each epoch.
    """
    reference = build_model()
    reference.build(np.asarray(x).shape[1:])
    initial = reference.get_weights()
    curves = {}
    for name, optimizer in optimizers.items():
        model = build_model()
        model.build(np.asarray(x).shape[1:])
        model.set_weights(initial)
        model.compile(optimizer=optimizer, loss=loss)
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, seed=seed,
                            verbose=verbose)
        curves[name] = history.history["loss"]
    return curves
