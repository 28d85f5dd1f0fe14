"""Optimizers by name: :func:`get` (an instance, a name or a config dict) and
:func:`serialize` (what a model file stores)."""

from __future__ import annotations

from .. import schedules
from .._registry import lookup
from .first_order import SGD, SGDW, Adadelta, Adagrad, Adam, AdamW, Nadam, Optimizer, RMSprop
from .full_batch import LBFGS, ConjugateGradient
from .least_squares import LevenbergMarquardt
from .sign_rules import IRpropPlus, Quickprop, Rprop

__all__ = ["OPTIMIZERS", "get", "serialize"]

OPTIMIZERS = {"sgd": SGD, "sgdw": SGDW, "adagrad": Adagrad, "adadelta": Adadelta,
              "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "nadam": Nadam,
              "lbfgs": LBFGS, "conjugate_gradient": ConjugateGradient,
              "levenberg_marquardt": LevenbergMarquardt, "rprop": Rprop,
              "irprop_plus": IRpropPlus, "quickprop": Quickprop}


def get(identifier, argument: str = "optimizer") -> Optimizer:
    """An Optimizer from an instance, a name (default settings) or a
    ``{"class_name": ..., "config": {...}}`` dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = lookup("optimizer", OPTIMIZERS, identifier.get("class_name", ""), argument)
        config = dict(identifier.get("config", {}))
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.get(config["learning_rate"])
        return cls(**config)
    if callable(identifier) and not isinstance(identifier, str):
        raise TypeError(f"{argument} must be an Optimizer, a name or a config dict; "
                        f"got {type(identifier).__name__}")
    return lookup("optimizer", OPTIMIZERS, identifier, argument)()


def serialize(optimizer: Optimizer) -> dict:
    """``{"class_name": ..., "config": ...}`` of a built-in optimizer (model files)."""
    for name, cls in OPTIMIZERS.items():
        if type(optimizer) is cls:
            return {"class_name": name, "config": optimizer.get_config()}
    raise ValueError(f"cannot save custom optimizer {optimizer!r}")
