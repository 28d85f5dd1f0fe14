"""Optimizers: update rules applied in place to parameter arrays.

Notation: W are the weights, g = dL/dW the gradient at step t (t = 1, 2, ...), alpha the
learning rate.  Every rule below is written the way its paper writes it, with Keras's
default hyperparameters unless a paper fixes them.

The contract every optimizer keeps (the one the training step calls):

* ``minimize(params, closure) -> loss``: ``closure()`` computes the loss, sets every
  parameter's ``.grad`` and returns the loss; the optimizer calls it as often as its
  method needs (once for a first-order rule, several times for L-BFGS's line search)
  and returns the loss at the parameters it started from (as PyTorch's
  ``optimizer.step(closure)`` does).
* ``apply(params)``: one update from the gradients already in ``.grad`` (first-order
  rules; L-BFGS needs the closure).
* ``full_batch``: True when the method needs the loss of the whole data set (then
  ``fit`` makes every epoch one batch of all samples).
* State: ``slots`` names the per-parameter arrays (allocated once by ``build``, updated in
  place, saved with a model by ``get_state`` / ``set_state``); element-wise work goes
  through one preallocated scratch array per parameter, which is not state.

``learning_rate`` may be a number or a schedule from :mod:`nnlearn.schedules`
(evaluated at the step count).  Gradient clipping is its own piece,
:class:`GradientClipping`, applied before the rule (``clipvalue`` clips each element to
[-clipvalue, clipvalue], then ``clipnorm`` rescales each gradient whose L2 norm exceeds
it; Pascanu, Mikolov & Bengio 2013).
"""

from __future__ import annotations

import math

import numpy as np

from . import schedules
from ._registry import constructor_repr, lookup

__all__ = ["Optimizer", "GradientClipping", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam",
           "Nadam", "LBFGS", "get", "serialize", "compare"]


def _nonnegative(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number; got {value!r}")
    return float(value)


def _fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    return float(value)


class GradientClipping:
    """Clip a gradient before the update rule sees it (Pascanu, Mikolov & Bengio 2013):
    first each element to [-clipvalue, clipvalue], then the whole array to L2 norm
    ``clipnorm``: g <- g * clipnorm / ||g|| when ||g|| > clipnorm."""

    def __init__(self, clipnorm=None, clipvalue=None):
        self.clipnorm = None if clipnorm is None else _nonnegative(clipnorm, "clipnorm")
        self.clipvalue = None if clipvalue is None else _nonnegative(clipvalue, "clipvalue")

    def __call__(self, g: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The clipped gradient, written to ``out`` when it differs from ``g``."""
        if self.clipvalue is not None:
            g = np.clip(g, -self.clipvalue, self.clipvalue, out=out)
        if self.clipnorm is not None:
            norm = float(np.sqrt(np.vdot(g, g)))
            if norm > self.clipnorm:
                g = np.multiply(g, self.clipnorm / norm, out=out)
        return g

    def get_config(self) -> dict:
        config = {"clipnorm": self.clipnorm, "clipvalue": self.clipvalue}
        return {k: v for k, v in config.items() if v is not None}


class Optimizer:
    """Base class.  A subclass lists its per-parameter state arrays in ``slots`` and
    defines ``update(w, g, state, lr, scratch)``, which changes ``w`` in place (``state``
    maps each slot to its array; ``scratch`` is a work array of w's shape)."""

    slots: tuple = ()
    full_batch = False

    def __init__(self, learning_rate=0.01, clipnorm=None, clipvalue=None):
        if isinstance(learning_rate, schedules.Schedule):
            self.learning_rate = learning_rate
        else:
            self.learning_rate = _nonnegative(learning_rate, "learning_rate")
        clipping = GradientClipping(clipnorm, clipvalue)
        self.clipping = clipping if clipping.get_config() else None
        self.iterations = 0
        self._state = None

    @property
    def built(self) -> bool:
        return self._state is not None

    @property
    def current_learning_rate(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at the step count)."""
        if isinstance(self.learning_rate, schedules.Schedule):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def build(self, params) -> None:
        """Allocate the state (one zero array per slot and parameter) and the scratch
        arrays."""
        self._state = [{slot: np.zeros_like(p.data) for slot in self.slots} for p in params]
        self._scratch = [np.empty_like(p.data) for p in params]
        self._clipped = [np.empty_like(p.data) for p in params] if self.clipping else None

    def minimize(self, params, closure) -> float:
        """Evaluate ``closure()`` (loss and gradients), then update; returns the loss."""
        loss = closure()
        self.apply(params)
        return loss

    def apply(self, params) -> None:
        """Apply one update to every parameter from its ``.grad``."""
        if self._state is None:
            self.build(params)
        lr = self.current_learning_rate
        self.iterations += 1
        for i, (p, state) in enumerate(zip(params, self._state)):
            if p.grad is not None:
                g = p.grad if self.clipping is None else self.clipping(p.grad, self._clipped[i])
                self.update(p.data, g, state, lr, self._scratch[i])

    def update(self, w: np.ndarray, g: np.ndarray, state: dict, lr: float,
               scratch: np.ndarray) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        lr = self.learning_rate
        config = {"learning_rate": schedules.serialize(lr)
                  if isinstance(lr, schedules.Schedule) else lr}
        return {**config, **(self.clipping.get_config() if self.clipping else {})}

    def extra_state(self) -> list:
        """Scalars of the state that are not per-parameter arrays (saved with them)."""
        return []

    def set_extra_state(self, values: list) -> None:
        pass

    def get_state(self) -> list:
        """The state arrays, parameter by parameter, slot by slot, then one array of the
        extra scalars."""
        if self._state is None:
            return []
        arrays = [state[slot] for state in self._state for slot in self.slots]
        return arrays + [np.array(self.extra_state(), dtype=np.float64)]

    def set_state(self, params, arrays, iterations: int) -> None:
        self.build(params)
        arrays = list(arrays)
        expected = len(params) * len(self.slots) + 1
        if arrays and len(arrays) != expected:
            raise ValueError(f"optimizer state: expected {expected} arrays; got {len(arrays)}")
        if arrays:
            it = iter(arrays)
            for state in self._state:
                for slot in self.slots:
                    array = next(it)
                    if array.shape != state[slot].shape:
                        raise ValueError(f"optimizer state: slot {slot!r} has shape "
                                         f"{array.shape}, expected {state[slot].shape}")
                    state[slot][...] = array
            self.set_extra_state(list(next(it)))
        self.iterations = int(iterations)

    def __repr__(self):
        """``SGD(learning_rate=0.1, momentum=0.9)``: code that builds the same optimizer."""
        return constructor_repr(self, self.get_config())


class SGD(Optimizer):
    """Gradient descent, with momentum and Nesterov momentum (Nesterov 1983).

    Plain:      W <- W - alpha g
    Momentum:   v <- mu v - alpha g;   W <- W + v
                (also written v_t = gamma v_{t-1} + alpha g;  W <- W - v_t, with v = -v_t)
    Nesterov:   v <- mu v - alpha g;   W <- W + mu v - alpha g
                Sutskever et al. (2013)'s v_{t+1} = mu v_t - alpha g(W_t + mu v_t),
                written for the look-ahead point W + mu v (Bengio et al. 2012), so the
                gradient is the one at the current parameters.

    Full-batch GD and online SGD are this optimizer with ``batch_size=len(x)`` and
    ``batch_size=1`` in ``fit``.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = _fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)
        self.slots = ("velocity",) if self.momentum else ()

    def update(self, w, g, state, lr, scratch):
        np.multiply(g, lr, out=scratch)                       # alpha g
        if not self.momentum:
            w -= scratch
            return
        v = state["velocity"]
        v *= self.momentum
        v -= scratch                                          # v = mu v - alpha g
        if self.nesterov:
            w -= scratch
            np.multiply(v, self.momentum, out=scratch)
            w += scratch                                      # W += mu v - alpha g
        else:
            w += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), in its diagonal form::

        G <- G + g^2;    W <- W - alpha g / sqrt(G + epsilon)

    G starts at ``initial_accumulator_value`` (Keras: 0.1).
    """

    slots = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = _nonnegative(initial_accumulator_value,
                                                      "initial_accumulator_value")
        self.epsilon = _nonnegative(epsilon, "epsilon")

    def build(self, params):
        super().build(params)
        for state in self._state:
            state["accumulator"][...] = self.initial_accumulator_value

    def update(self, w, g, state, lr, scratch):
        G = state["accumulator"]
        np.multiply(g, g, out=scratch)
        G += scratch                                          # G += g^2
        np.add(G, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(g, scratch, out=scratch)
        scratch *= lr
        w -= scratch                                          # W -= alpha g / sqrt(G + eps)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012, Algorithm 1)::

        E[g^2]  <- rho E[g^2] + (1 - rho) g^2
        dW      =  -sqrt(E[dW^2] + epsilon) / sqrt(E[g^2] + epsilon) * g
        E[dW^2] <- rho E[dW^2] + (1 - rho) dW^2
        W       <- W + alpha dW

    Zeiler's rule has no learning rate (alpha = 1, the default); rho = 0.95 and
    epsilon = 1e-6 are the paper's values.
    """

    slots = ("mean_square_gradient", "mean_square_update")

    def __init__(self, learning_rate=1.0, rho: float = 0.95, epsilon: float = 1e-6, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _fraction(rho, "rho")
        self.epsilon = _nonnegative(epsilon, "epsilon")

    def update(self, w, g, state, lr, scratch):
        eg2, edw2, dw = state["mean_square_gradient"], state["mean_square_update"], scratch
        rho, eps = self.rho, self.epsilon
        eg2 *= rho
        eg2 += (1 - rho) * g * g                              # E[g^2]
        np.add(edw2, eps, out=dw)
        np.sqrt(dw, out=dw)                                   # RMS[dW]_{t-1}
        dw /= np.sqrt(eg2 + eps)                              # / RMS[g]_t
        dw *= g
        np.negative(dw, out=dw)                               # dW
        edw2 *= rho
        edw2 += (1 - rho) * dw * dw                           # E[dW^2]
        dw *= lr
        w += dw

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop (Hinton, Coursera lecture 6e, 2012), Keras's form and defaults::

        E[g^2] <- rho E[g^2] + (1 - rho) g^2;    W <- W - alpha g / sqrt(E[g^2] + epsilon)
    """

    slots = ("mean_square",)

    def __init__(self, learning_rate=0.001, rho: float = 0.9, epsilon: float = 1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _fraction(rho, "rho")
        self.epsilon = _nonnegative(epsilon, "epsilon")

    def update(self, w, g, state, lr, scratch):
        s = state["mean_square"]
        np.multiply(g, g, out=scratch)
        scratch *= 1 - self.rho
        s *= self.rho
        s += scratch                                          # E[g^2]
        np.add(s, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(g, scratch, out=scratch)
        scratch *= lr
        w -= scratch

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1)::

        m <- beta_1 m + (1 - beta_1) g            (first moment)
        v <- beta_2 v + (1 - beta_2) g^2          (second raw moment)
        m_hat = m / (1 - beta_1^t);  v_hat = v / (1 - beta_2^t)
        W <- W - alpha m_hat / (sqrt(v_hat) + epsilon)

    ``amsgrad=True`` (Reddi et al. 2018) divides by the running maximum of v instead of
    v (bias-corrected the same way).  Keras's defaults: alpha 0.001, betas 0.9 / 0.999,
    epsilon 1e-7.
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _fraction(beta_1, "beta_1")
        self.beta_2 = _fraction(beta_2, "beta_2")
        self.epsilon = _nonnegative(epsilon, "epsilon")
        self.amsgrad = bool(amsgrad)
        self.slots = ("m", "v", "v_max") if self.amsgrad else ("m", "v")

    def _moments(self, g, state, scratch):
        m, v = state["m"], state["v"]
        m *= self.beta_1
        np.multiply(g, 1 - self.beta_1, out=scratch)
        m += scratch                                          # m_t
        v *= self.beta_2
        np.multiply(g, g, out=scratch)
        scratch *= 1 - self.beta_2
        v += scratch                                          # v_t
        if self.amsgrad:
            np.maximum(state["v_max"], v, out=state["v_max"])
            v = state["v_max"]
        return m, v

    def _denominator(self, v, scratch, t):
        np.divide(v, 1 - self.beta_2 ** t, out=scratch)       # v_hat
        np.sqrt(scratch, out=scratch)
        scratch += self.epsilon                               # sqrt(v_hat) + epsilon
        return scratch

    def update(self, w, g, state, lr, scratch):
        t = self.iterations
        m, v = self._moments(g, state, scratch)
        denominator = self._denominator(v, scratch, t)
        np.divide(m, denominator, out=denominator)
        denominator *= lr / (1 - self.beta_1 ** t)            # alpha m_hat / (...)
        w -= denominator

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class Nadam(Adam):
    """Nadam (Dozat 2016): Adam with Nesterov momentum and the momentum schedule
    mu_t = beta_1 (1 - 0.5 * 0.96^(0.004 t))::

        m <- beta_1 m + (1 - beta_1) g;   v <- beta_2 v + (1 - beta_2) g^2
        m_hat = mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i)
        v_hat = v / (1 - beta_2^t)
        W <- W - alpha m_hat / (sqrt(v_hat) + epsilon)
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad=False, **kwargs)
        self._mu_product = 1.0  # prod of mu_1 .. mu_t

    def _mu(self, t: int) -> float:
        return self.beta_1 * (1 - 0.5 * 0.96 ** (0.004 * t))

    def apply(self, params):
        t = self.iterations + 1
        self._mu_t, self._mu_next = self._mu(t), self._mu(t + 1)
        self._product_t = self._mu_product * self._mu_t
        super().apply(params)
        self._mu_product = self._product_t

    def update(self, w, g, state, lr, scratch):
        t = self.iterations
        m, v = self._moments(g, state, scratch)
        denominator = self._denominator(v, scratch, t)
        # W -= alpha [c_m m + c_g g] / denominator, with the two coefficients of m_hat
        c_m = self._mu_next / (1 - self._product_t * self._mu_next)
        c_g = (1 - self._mu_t) / (1 - self._product_t)
        w -= lr * (c_m * m + c_g * g) / denominator

    def extra_state(self):
        return [self._mu_product]

    def set_extra_state(self, values):
        if values:
            self._mu_product = float(values[0])

    def get_config(self):
        config = super().get_config()
        del config["amsgrad"]
        return config


class LBFGS(Optimizer):
    """Limited-memory BFGS (Liu & Nocedal 1989), full batch.

    Each ``minimize(params, closure)`` is one iteration: the search direction
    d = -H g comes from the two-loop recursion over the last ``history_size`` pairs
    s = W_{k+1} - W_k, y = g_{k+1} - g_k (H_0 = s.y / y.y), then a backtracking line
    search from step 1 (``learning_rate``) halves the step until the Armijo condition
    f(W + a d) <= f(W) + c1 a g.d holds.  A pair is kept only when s.y > 0, so H stays
    positive definite; with every |g| <= ``tolerance_grad`` the step does nothing.
    ``closure()`` must recompute the loss over the full data set, set every ``.grad`` and
    return the loss.  The method needs the loss of the whole data set (``full_batch``),
    so in ``fit`` one epoch is one L-BFGS iteration.
    """

    full_batch = True

    def __init__(self, learning_rate=1.0, history_size: int = 10, c1: float = 1e-4,
                 max_line_search: int = 25, tolerance_grad: float = 1e-12):
        super().__init__(learning_rate)
        self.tolerance_grad = _nonnegative(tolerance_grad, "tolerance_grad")
        if not isinstance(history_size, int) or history_size < 1:
            raise ValueError(f"history_size must be a positive integer; got {history_size!r}")
        self.history_size = history_size
        self.c1 = _fraction(c1, "c1")
        self.max_line_search = int(max_line_search)
        self._s, self._y = [], []
        self.last_loss = None

    def build(self, params):
        self._state = []
        self._params = list(params)
        self._s, self._y = [], []

    @staticmethod
    def _flat(params, attribute) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(p, attribute), np.float64).ravel()
                               for p in params])

    @staticmethod
    def _assign(params, flat) -> None:
        i = 0
        for p in params:
            p.data[...] = flat[i:i + p.size].reshape(p.shape)
            i += p.size

    def _direction(self, g: np.ndarray) -> np.ndarray:
        q = -g.copy()
        alphas = []
        for s, y in zip(reversed(self._s), reversed(self._y)):
            rho = 1.0 / y.dot(s)
            a = rho * s.dot(q)
            q -= a * y
            alphas.append((a, rho, s, y))
        if self._s:
            q *= self._s[-1].dot(self._y[-1]) / self._y[-1].dot(self._y[-1])
        for a, rho, s, y in reversed(alphas):
            b = rho * y.dot(q)
            q += (a - b) * s
        return q

    def apply(self, params):
        raise TypeError("LBFGS cannot update from gradients alone: call "
                        "minimize(params, closure), closure() computing the full-batch loss "
                        "and setting .grad")

    def minimize(self, params, closure):
        if self._state is None:
            self.build(params)
        loss = float(closure())
        w = self._flat(params, "data")
        g = self._flat(params, "grad")
        if np.max(np.abs(g), initial=0.0) <= self.tolerance_grad:  # converged: stay
            self.iterations += 1
            self.last_loss = loss
            return loss
        d = self._direction(g)
        slope = g.dot(d)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            self._s, self._y = [], []
            d, slope = -g, -g.dot(g)
        a = self.current_learning_rate
        for _ in range(self.max_line_search):
            self._assign(params, w + a * d)
            new_loss = float(closure())
            if np.isfinite(new_loss) and new_loss <= loss + self.c1 * a * slope:
                break
            a *= 0.5
        else:  # no decrease found: stay where we were
            self._assign(params, w)
            closure()
            new_loss = loss
        g_new = self._flat(params, "grad")
        s, y = a * d, g_new - g
        if y.dot(s) > max(1e-10 * y.dot(y), 1e-300):  # keep H positive definite
            self._s.append(s)
            self._y.append(y)
            if len(self._s) > self.history_size:
                del self._s[0], self._y[0]
        self.iterations += 1
        self.last_loss = new_loss  # the loss where the iteration ended
        return loss

    def get_state(self):
        """The curvature pairs: S and Y, one row per kept pair (float64)."""
        n = sum(p.size for p in self._params) if self._s else 0
        return [np.array(self._s).reshape(-1, n), np.array(self._y).reshape(-1, n)]

    def set_state(self, params, arrays, iterations):
        self.build(params)
        arrays = list(arrays)
        if arrays:
            if len(arrays) != 2 or arrays[0].shape != arrays[1].shape:
                raise ValueError("LBFGS state: expected the arrays S and Y of one shape")
            size = sum(p.size for p in params)
            if len(arrays[0]) and arrays[0].shape[1] != size:
                raise ValueError(f"LBFGS state: pairs of {arrays[0].shape[1]} values for "
                                 f"{size} parameters")
            self._s = [row.astype(np.float64) for row in arrays[0]]
            self._y = [row.astype(np.float64) for row in arrays[1]]
        self.iterations = int(iterations)

    def get_config(self):
        return {**super().get_config(), "history_size": self.history_size, "c1": self.c1,
                "max_line_search": self.max_line_search, "tolerance_grad": self.tolerance_grad}


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "adadelta": Adadelta, "rmsprop": RMSprop,
              "adam": Adam, "nadam": Nadam, "lbfgs": LBFGS}


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
    for name, cls in OPTIMIZERS.items():
        if type(optimizer) is cls:
            return {"class_name": name, "config": optimizer.get_config()}
    raise ValueError(f"cannot save custom optimizer {optimizer!r}")


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
