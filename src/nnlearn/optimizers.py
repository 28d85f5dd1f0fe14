"""Optimizers: update rules applied in place to parameter arrays (seed 000 "Gradient
descent variations", seed 001).

An optimizer keeps its state in arrays allocated once (``build``) and updated in place
(``step``), so that a training step allocates nothing for the update.  The state is part
of a saved model (``get_state`` / ``set_state``).

Only ``SGD`` (with momentum and Nesterov) and ``RMSprop`` exist so far; the optimizers
issue adds the rest.
"""

from __future__ import annotations

import numpy as np

from ._registry import lookup

__all__ = ["Optimizer", "SGD", "RMSprop", "get"]


def _check_rate(value, name):
    if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number; got {value!r}")
    return float(value)


def _check_fraction(value, name):
    if not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    return float(value)


class Optimizer:
    """Base class: subclasses define ``slots`` (state arrays per parameter) and
    ``update(w, g, state)``, which changes ``w`` in place."""

    slots: tuple = ()

    def __init__(self, learning_rate: float):
        self.learning_rate = _check_rate(learning_rate, "learning_rate")
        self.iterations = 0
        self._state = None

    def build(self, params) -> None:
        """Allocate the state: one zero array per slot and parameter, and a scratch
        buffer per parameter."""
        self._state = [{slot: np.zeros_like(p.data) for slot in (*self.slots, "_scratch")}
                       for p in params]

    def step(self, params) -> None:
        """Apply one update to every parameter from its ``.grad``."""
        if self._state is None:
            self.build(params)
        self.iterations += 1
        for p, state in zip(params, self._state):
            if p.grad is not None:
                self.update(p.data, p.grad, state)

    def update(self, w: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate}

    def get_state(self) -> list:
        """The state arrays, parameter by parameter, slot by slot (scratch excluded)."""
        if self._state is None:
            return []
        return [state[slot] for state in self._state for slot in self.slots]

    def set_state(self, params, arrays, iterations: int) -> None:
        self.build(params)
        expected = len(params) * len(self.slots)
        if len(arrays) != expected:
            raise ValueError(f"optimizer state: expected {expected} arrays; got {len(arrays)}")
        it = iter(arrays)
        for state in self._state:
            for slot in self.slots:
                array = next(it)
                if array.shape != state[slot].shape:
                    raise ValueError(f"optimizer state: slot {slot!r} has shape "
                                     f"{array.shape}, expected {state[slot].shape}")
                state[slot][...] = array
        self.iterations = int(iterations)


class SGD(Optimizer):
    """Gradient descent with optional momentum (seed 000), Keras's form::

        v <- momentum v - learning_rate g
        w <- w + v                                  (plain momentum)
        w <- w + momentum v - learning_rate g       (nesterov=True)

    With momentum 0 this is ``w <- w - learning_rate g``.  Full-batch GD and online SGD
    are this optimizer with ``batch_size=len(x)`` and ``batch_size=1``.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False):
        super().__init__(learning_rate)
        self.momentum = _check_fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)
        self.slots = ("velocity",) if self.momentum else ()

    def update(self, w, g, state):
        lr, scratch = self.learning_rate, state["_scratch"]
        np.multiply(g, lr, out=scratch)                       # lr g
        if not self.momentum:
            w -= scratch
            return
        v = state["velocity"]
        v *= self.momentum
        v -= scratch                                          # v = m v - lr g
        if self.nesterov:
            w -= scratch
            np.multiply(v, self.momentum, out=scratch)
            w += scratch                                      # w += m v - lr g
        else:
            w += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), Keras's form and defaults::

        s <- rho s + (1 - rho) g^2
        w <- w - learning_rate g / sqrt(s + epsilon)
    """

    slots = ("mean_square",)

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7):
        super().__init__(learning_rate)
        self.rho = _check_fraction(rho, "rho")
        self.epsilon = _check_rate(epsilon, "epsilon")

    def update(self, w, g, state):
        s, scratch = state["mean_square"], state["_scratch"]
        np.multiply(g, g, out=scratch)
        scratch *= 1 - self.rho
        s *= self.rho
        s += scratch                                          # s = rho s + (1 - rho) g^2
        np.add(s, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(g, scratch, out=scratch)
        scratch *= self.learning_rate
        w -= scratch

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop}


def get(identifier, argument: str = "optimizer") -> Optimizer:
    """An Optimizer instance from an instance, a name (default settings) or a
    ``{"class_name": ..., "config": {...}}`` dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = lookup("optimizer", OPTIMIZERS, identifier.get("class_name", ""), argument)
        return cls(**identifier.get("config", {}))
    if callable(identifier) and not isinstance(identifier, str):
        raise TypeError(f"{argument} must be an Optimizer, a name or a config dict; "
                        f"got {type(identifier).__name__}")
    return lookup("optimizer", OPTIMIZERS, identifier, argument)()


def serialize(optimizer: Optimizer) -> dict:
    for name, cls in OPTIMIZERS.items():
        if type(optimizer) is cls:
            return {"class_name": name, "config": optimizer.get_config()}
    raise ValueError(f"cannot save custom optimizer {optimizer!r}")
