"""Sanity checks before a long training run (from Karpathy's CS231n course)."""

from __future__ import annotations

import numpy as np

from .autograd import no_grad
from .layers import Dropout, Input

__all__ = ["overfit_small", "activation_statistics"]


def overfit_small(build_model, x, y, n: int = 20, epochs: int = 200, batch_size=None,
                  seed: int = 0) -> dict:
    """The first sanity check of Karpathy's CS231n course: with regularization off, a
    network that works must be able to fit ``n`` training examples perfectly.

    ``build_model()`` returns a compiled Sequential; its kernel regularizers are removed
    and its Dropout rates set to 0, and it trains on the first ``n`` samples.

    Returns
    -------
    dict with ``train_accuracy`` (or None without an accuracy metric), ``final_loss``,
    ``loss_history`` and ``passed`` (accuracy 1.0, or the loss fell below 1 % of its
    first value when there is no accuracy).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    x, y = np.asarray(x)[:n], np.asarray(y)[:n]
    model = build_model()
    for layer in model.layers:
        if getattr(layer, "kernel_regularizer", None) is not None:
            layer.kernel_regularizer = None
        if isinstance(layer, Dropout):
            layer.rate = 0.0
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size or len(x), verbose=0,
                        seed=seed)
    losses = history.history["loss"]
    accuracy = history.history.get("accuracy")
    final_accuracy = None
    if accuracy is not None:
        final_accuracy = model.evaluate(x, y, return_dict=True)["accuracy"]
        passed = final_accuracy == 1.0
    else:
        passed = losses[-1] < 0.01 * losses[0]
    return {"train_accuracy": final_accuracy, "final_loss": losses[-1],
            "loss_history": losses, "passed": bool(passed)}


def activation_statistics(model, x, keep_values: bool = True) -> list:
    """Activation statistics, as in Karpathy's CS231n lecture on weight initialization:
    run ``x`` through a built model layer by layer (inference mode, no graph) and report
    each layer's output mean and standard deviation (``Input`` layers, which pass their
    input on unchanged, are left out).

    Returns
    -------
    list, one dict per layer: ``layer`` (its name), ``mean``, ``std`` and, with
    ``keep_values``, ``values`` (the output array, for histograms).
    """
    model.check_input(np.asarray(x))
    out, stats = x, []
    with no_grad():
        for layer in model.layers:
            if isinstance(layer, Input):
                continue
            out = layer(out, training=False)
            values = out.data
            record = {"layer": layer.name, "mean": float(np.mean(values)),
                      "std": float(np.std(values))}
            if keep_values:
                record["values"] = values
            stats.append(record)
    return stats
