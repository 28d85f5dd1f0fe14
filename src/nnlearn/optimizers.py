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
  place, saved with a model by ``get_state`` / ``set_state``).
* The rules of the first-order methods are :mod:`nnlearn.lowering.loops` element-wise kernels:
  written once as the equations below, run by NumPy or compiled by numba (the ``fast``
  extra), with the same results.  States that decay geometrically (moments, velocities)
  are flushed to zero below the dtype's smallest normal number, where a CPU computes
  about 100 times slower (the denormals); no step can see the difference.

Least squares (Levenberg-Marquardt) needs more than the loss and its gradient: an
optimizer whose ``needs_residuals`` is True is given, as ``closure.residuals``, a callable
returning the residuals r (all n x outputs values, as one vector) and their Jacobian
J = dr/dW (one row per residual, one column per parameter value, in ``params`` order);
:func:`least_squares_residuals` builds it for a model and :func:`jacobian` derives J from
the engine.  The full-batch methods (L-BFGS, conjugate gradient, Levenberg-Marquardt)
update from the closure alone and refuse ``apply``.

``learning_rate`` may be a number or a schedule from :mod:`nnlearn.schedules`
(evaluated at the step count).  Gradient clipping is its own piece,
:class:`GradientClipping`, applied before the rule (``clipvalue`` clips each element to
[-clipvalue, clipvalue], then ``clipnorm`` rescales each gradient whose L2 norm exceeds
it; Pascanu, Mikolov & Bengio 2013).
"""

from __future__ import annotations

import functools
import inspect
import math

import numpy as np

from . import schedules
from ._registry import constructor_repr, lookup
from .kernels import elementwise

__all__ = ["Optimizer", "GradientClipping", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam",
           "Nadam", "LBFGS", "ConjugateGradient", "LevenbergMarquardt", "Rprop", "IRpropPlus",
           "Quickprop", "strong_wolfe_line_search", "jacobian", "least_squares_residuals",
           "get", "serialize", "compare"]


def _nonnegative(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number; got {value!r}")
    return float(value)


def _fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    return float(value)


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer,
                                                               np.floating)) \
        and math.isfinite(value)


def _positive(value, name):
    if not _number(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


def _open_unit(value, name):
    if not _number(value) or not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1); got {value!r}")
    return float(value)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _wolfe_constants(c1, c2):
    c1, c2 = _open_unit(c1, "c1"), _open_unit(c2, "c2")
    if not c1 < c2:
        raise ValueError(f"c1 must be smaller than c2 (0 < c1 < c2 < 1); got c1={c1!r}, "
                         f"c2={c2!r}")
    return c1, c2


@functools.lru_cache(maxsize=8)
def _smallest_normal(dtype: np.dtype) -> float:
    """The smallest normal number of the dtype: states below it are flushed to zero."""
    return float(np.finfo(dtype).tiny)


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
        """The clipping thresholds that are set."""
        config = {"clipnorm": self.clipnorm, "clipvalue": self.clipvalue}
        return {k: v for k, v in config.items() if v is not None}


class Optimizer:
    """Base class.  A subclass lists its per-parameter state arrays in ``slots`` and
    defines ``update(w, g, state, lr, scratch)``, which changes ``w`` in place (``state``
    maps each slot to its array; ``scratch`` is a work array of w's shape when the class
    sets ``uses_scratch``, else None: the kernel rules need none)."""

    slots: tuple = ()
    uses_scratch = False
    scalars: tuple = ()  # attributes of the state that are single numbers
    full_batch = False
    needs_residuals = False

    def __init__(self, learning_rate=0.01, clipnorm=None, clipvalue=None, **unknown):
        if unknown:  # a clearer TypeError than Python's, which names this base class
            name = next(iter(unknown))
            known = dict.fromkeys([*inspect.signature(type(self)).parameters, "clipnorm",
                                   "clipvalue"])
            known = [p for p in known if p not in ("kwargs", "unknown")]
            hint = "; the learning rate is learning_rate=" if name == "lr" else ""
            raise TypeError(f"{type(self).__name__}: unknown argument {name!r}{hint} "
                            f"(its arguments: {', '.join(known)})")
        if isinstance(learning_rate, schedules.Schedule):
            self.learning_rate = learning_rate
        else:
            self.learning_rate = _nonnegative(learning_rate, "learning_rate")
        clipping = GradientClipping(clipnorm, clipvalue)
        self.clipping = clipping if clipping.get_config() else None
        self.iterations = 0
        self._state = None

    @property
    def current_learning_rate(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at the step count)."""
        if isinstance(self.learning_rate, schedules.Schedule):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def build(self, params) -> None:
        """Allocate the state (one zero array per slot and parameter) and the scratch
        arrays (when the rule uses them)."""
        self._state = [{slot: np.zeros_like(p.data) for slot in self.slots} for p in params]
        self._slot_arrays = [tuple(state[slot] for slot in self.slots) for state in self._state]
        self._groups = None  # see _kernel_groups
        self._scratch = [np.empty_like(p.data) if self.uses_scratch else None for p in params]
        self._clipped = [np.empty_like(p.data) for p in params] if self.clipping else None

    def minimize(self, params, closure) -> float:
        """Evaluate ``closure()`` (loss and gradients), then update; returns the loss."""
        loss = closure()
        self.apply(params)
        return loss

    @classmethod
    def update_kind(cls) -> str:
        """How a step updates (what :mod:`nnlearn.lowering.planner` reports and relies on):
        ``"rule"``, the :meth:`kernel` rule on all parameters at once; ``"update"``, the
        class's own :meth:`update` per parameter; ``"method"``, a :meth:`minimize` of its
        own that evaluates the loss itself (line searches, trust regions)."""
        if cls.minimize is not Optimizer.minimize:
            return "method"
        return "rule" if cls.update is Optimizer.update else "update"

    def apply(self, params) -> None:
        """Apply one update to every parameter from its ``.grad``."""
        if self._state is None:
            self.build(params)
        lr = self.begin_step()
        gradients = [p.grad if p.grad is None or self.clipping is None else
                     self.clipping(p.grad, self._clipped[i]) for i, p in enumerate(params)]
        if type(self).update is Optimizer.update:  # the kernel, on all parameters at once
            for entry in self._kernel_groups(params, gradients):
                dtype, arrays, fitting = entry
                rule, numbers = self._rule(lr, dtype)
                entry[2] = rule.each(arrays, numbers, fitting)
        else:
            for i, (p, g) in enumerate(zip(params, gradients)):
                if g is not None:
                    self.update(p.data, g, self._state[i], lr, self._scratch[i])
        self.end_step()

    def _kernel_groups(self, params, gradients) -> list:
        """``[[dtype, groups, fitting]]``: the arrays ``(w, *state slots, g)`` of every
        parameter with a gradient, by dtype, and what the kernel found about them (see
        :meth:`nnlearn.lowering.loops.Elementwise.each`).  Kept while the parameters and
        gradients are the same arrays (a compiled step reuses its gradient arrays), so
        the checks run once."""
        cached = self._groups
        if cached is not None and len(cached[0]) == len(params):
            for (w, g), p, grad in zip(cached[0], params, gradients):
                if w is not p.data or g is not grad:
                    break
            else:
                return cached[1]
        by_dtype: dict = {}
        for i, (p, g) in enumerate(zip(params, gradients)):
            if g is not None:
                by_dtype.setdefault(p.data.dtype, []).append((p.data, *self._slot_arrays[i], g))
        groups = [[dtype, arrays, None] for dtype, arrays in by_dtype.items()]
        self._groups = ([(p.data, g) for p, g in zip(params, gradients)], groups)
        return groups

    def begin_step(self) -> float:
        """Count a step; returns its learning rate (before every parameter's update)."""
        lr = self.current_learning_rate
        self.iterations += 1
        return lr

    def end_step(self) -> None:
        """After every parameter's update (a rule with state across parameters ends its
        step here)."""

    def kernel(self, lr: float, dtype):
        """``(rule, numbers)`` when the update is an element-wise rule (see
        :mod:`nnlearn.lowering.loops`): the step is ``rule(w, *state slots, g, *numbers)``
        for this step's learning rate, on arrays of ``dtype``; None otherwise."""
        return None

    def update(self, w: np.ndarray, g: np.ndarray, state: dict, lr: float,
               scratch: np.ndarray) -> None:
        """Change ``w`` in place from its gradient ``g``: the :meth:`kernel` rule, or a
        subclass's own update."""
        rule, numbers = self._rule(lr, w.dtype)
        rule(w, *[state[slot] for slot in self.slots], g, *numbers)

    def _rule(self, lr: float, dtype):
        """:meth:`kernel`, or NotImplementedError when there is none."""
        kernel = self.kernel(lr, dtype)
        if kernel is None:
            raise NotImplementedError(f"{type(self).__name__} defines neither kernel() "
                                      "nor update()")
        return kernel

    def get_config(self) -> dict:
        """The constructor arguments (saved in model files)."""
        lr = self.learning_rate
        config = {"learning_rate": schedules.serialize(lr)
                  if isinstance(lr, schedules.Schedule) else lr}
        return {**config, **(self.clipping.get_config() if self.clipping else {})}

    def extra_state(self) -> list:
        """The scalar state named in ``scalars`` (saved with the arrays)."""
        return [float(getattr(self, name)) for name in self.scalars]

    def set_extra_state(self, values: list) -> None:
        """Restore the scalars saved by extra_state."""
        for name, value in zip(self.scalars, values):
            setattr(self, name, float(value))

    def get_state(self) -> list:
        """The state arrays, parameter by parameter, slot by slot, then one array of the
        extra scalars."""
        if self._state is None:
            return []
        arrays = [state[slot] for state in self._state for slot in self.slots]
        return arrays + [np.array(self.extra_state(), dtype=np.float64)]

    def set_state(self, params, arrays, iterations: int) -> None:
        """Restore the state saved by get_state (after build), and the step count."""
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
        """``SGD(learning_rate=0.1, momentum=0.9)``: code that builds the same optimizer
        (a schedule written as ``nl.schedules.StepDecay(...)``)."""
        text = constructor_repr(self, self.get_config())
        lr = self.learning_rate
        if isinstance(lr, schedules.Schedule):
            text = text.replace(f"learning_rate={schedules.serialize(lr)!r}",
                                f"learning_rate=nl.schedules.{lr!r}")
        return text


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

    @elementwise(arrays=2)
    def plain(w, g, lr):
        return w - g * lr

    @elementwise(arrays=3, updates=2)
    def with_momentum(w, v, g, lr, mu, tiny):
        v = v * mu - g * lr
        v *= abs(v) >= tiny                                   # flush denormals
        return w + v, v

    @elementwise(arrays=3, updates=2)
    def with_nesterov_momentum(w, v, g, lr, mu, tiny):
        v = v * mu - g * lr
        v *= abs(v) >= tiny
        return w - g * lr + v * mu, v

    def kernel(self, lr, dtype):
        if not self.momentum:
            return self.plain, (lr,)
        rule = self.with_nesterov_momentum if self.nesterov else self.with_momentum
        return rule, (lr, self.momentum, _smallest_normal(dtype))

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

    @elementwise(arrays=3, updates=2)
    def rule(w, G, g, lr, eps):
        G = G + g * g
        return w - g / np.sqrt(G + eps) * lr, G

    def kernel(self, lr, dtype):
        return self.rule, (lr, self.epsilon)

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

    @elementwise(arrays=4, updates=3)
    def rule(w, eg2, edw2, g, lr, rho, one_minus_rho, eps, tiny):
        eg2 = eg2 * rho + one_minus_rho * g * g               # E[g^2]
        eg2 *= eg2 >= tiny                                    # flush denormals
        dw = -(np.sqrt(edw2 + eps) / np.sqrt(eg2 + eps) * g)  # RMS[dW]_{t-1} / RMS[g]_t g
        edw2 = edw2 * rho + one_minus_rho * dw * dw           # E[dW^2]
        edw2 *= edw2 >= tiny
        return w + dw * lr, eg2, edw2

    def kernel(self, lr, dtype):
        return self.rule, (lr, self.rho, 1 - self.rho, self.epsilon, _smallest_normal(dtype))

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

    @elementwise(arrays=3, updates=2)
    def rule(w, s, g, lr, rho, one_minus_rho, eps, tiny):
        s = s * rho + g * g * one_minus_rho                   # E[g^2]
        s *= s >= tiny                                        # flush denormals
        return w - g / np.sqrt(s + eps) * lr, s

    def kernel(self, lr, dtype):
        return self.rule, (lr, self.rho, 1 - self.rho, self.epsilon, _smallest_normal(dtype))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1)::

        m <- beta_1 m + (1 - beta_1) g            (first moment)
        v <- beta_2 v + (1 - beta_2) g^2          (second raw moment)
        m_hat = m / (1 - beta_1^t);  v_hat = v / (1 - beta_2^t)
        W <- W - alpha m_hat / (sqrt(v_hat) + epsilon)

    ``amsgrad=True`` (Reddi et al. 2018) divides by the running maximum of v instead of
    v (bias-corrected the same way).  ``epsilon_hat=True`` is the paper's "efficient"
    form (section 2, as scikit-learn and the first Keras write it): the corrections go
    into the step, alpha_t = alpha sqrt(1 - beta_2^t) / (1 - beta_1^t), and epsilon is
    added to sqrt(v) rather than to sqrt(v_hat): W <- W - alpha_t m / (sqrt(v) + epsilon).
    Keras's defaults: alpha 0.001, betas 0.9 / 0.999, epsilon 1e-7.
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, epsilon_hat: bool = False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.epsilon_hat = bool(epsilon_hat)
        self.beta_1 = _fraction(beta_1, "beta_1")
        self.beta_2 = _fraction(beta_2, "beta_2")
        self.epsilon = _nonnegative(epsilon, "epsilon")
        self.amsgrad = bool(amsgrad)
        self.slots = ("m", "v", "v_max") if self.amsgrad else ("m", "v")

    @elementwise(arrays=4, updates=3)
    def rule(w, m, v, g, step, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
             correction_2, eps, tiny):
        m = m * beta_1 + g * one_minus_beta_1                 # m_t
        v = v * beta_2 + g * g * one_minus_beta_2             # v_t
        m *= abs(m) >= tiny                                   # flush denormals
        v *= v >= tiny
        # step = alpha / (1 - beta_1^t), correction_2 = 1 - beta_2^t
        return w - m / (np.sqrt(v / correction_2) + eps) * step, m, v

    @elementwise(arrays=5, updates=4)
    def amsgrad_rule(w, m, v, v_max, g, step, beta_1, one_minus_beta_1, beta_2,
                     one_minus_beta_2, correction_2, eps, tiny):
        m = m * beta_1 + g * one_minus_beta_1
        v = v * beta_2 + g * g * one_minus_beta_2
        m *= abs(m) >= tiny
        v *= v >= tiny
        v_max = np.maximum(v_max, v)                          # Reddi et al.'s max
        return w - m / (np.sqrt(v_max / correction_2) + eps) * step, m, v, v_max

    def _constants(self, correction_2: float | None = None):
        """The rule's numbers at step t: beta_1, 1 - beta_1, beta_2, 1 - beta_2, the
        correction of v (1 - beta_2^t unless given), epsilon."""
        if correction_2 is None:
            correction_2 = 1 - self.beta_2 ** self.iterations
        return (self.beta_1, 1 - self.beta_1, self.beta_2, 1 - self.beta_2, correction_2,
                self.epsilon)

    def kernel(self, lr, dtype):
        t = self.iterations
        rule = self.amsgrad_rule if self.amsgrad else self.rule
        if self.epsilon_hat:  # correction_2 = 1: epsilon added to sqrt(v), not sqrt(v_hat)
            step = lr * np.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
            return rule, (step, *self._constants(correction_2=1.0), _smallest_normal(dtype))
        step = lr / (1 - self.beta_1 ** t)
        return rule, (step, *self._constants(), _smallest_normal(dtype))

    def get_config(self):
        config = {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                  "epsilon": self.epsilon, "amsgrad": self.amsgrad}
        return {**config, "epsilon_hat": True} if self.epsilon_hat else config


class Nadam(Adam):
    """Nadam (Dozat 2016): Adam with Nesterov momentum and the momentum schedule
    mu_t = beta_1 (1 - 0.5 * 0.96^(0.004 t))::

        m <- beta_1 m + (1 - beta_1) g;   v <- beta_2 v + (1 - beta_2) g^2
        m_hat = mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i)
        v_hat = v / (1 - beta_2^t)
        W <- W - alpha m_hat / (sqrt(v_hat) + epsilon)
    """

    scalars = ("_mu_product",)

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs):
        if kwargs.get("epsilon_hat"):
            raise ValueError("Nadam: epsilon_hat=True is Adam's form only; got "
                             "epsilon_hat=True")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad=False, **kwargs)
        self._mu_product = 1.0  # prod of mu_1 .. mu_t

    def _mu(self, t: int) -> float:
        return self.beta_1 * (1 - 0.5 * 0.96 ** (0.004 * t))

    def begin_step(self):
        t = self.iterations + 1
        self._mu_t, self._mu_next = self._mu(t), self._mu(t + 1)
        self._product_t = self._mu_product * self._mu_t
        return super().begin_step()

    def end_step(self):
        self._mu_product = self._product_t

    @elementwise(arrays=4, updates=3)
    def nadam_rule(w, m, v, g, lr, c_m, c_g, beta_1, one_minus_beta_1, beta_2,
                   one_minus_beta_2, correction_2, eps, tiny):
        m = m * beta_1 + g * one_minus_beta_1
        v = v * beta_2 + g * g * one_minus_beta_2
        m *= abs(m) >= tiny
        v *= v >= tiny
        # W -= alpha [c_m m + c_g g] / (sqrt(v_hat) + eps): the two coefficients of m_hat
        return w - lr * (c_m * m + c_g * g) / (np.sqrt(v / correction_2) + eps), m, v

    def kernel(self, lr, dtype):
        c_m = self._mu_next / (1 - self._product_t * self._mu_next)
        c_g = (1 - self._mu_t) / (1 - self._product_t)
        return self.nadam_rule, (lr, c_m, c_g, *self._constants(), _smallest_normal(dtype))

    def get_config(self):
        config = super().get_config()
        del config["amsgrad"]
        return config


# -- the strong Wolfe line search (shared by L-BFGS and conjugate gradient) --------------------
LINE_SEARCHES = ("armijo", "strong_wolfe")


def _cubic_minimizer(a, fa, da, b, fb, db):
    """The minimizer of the cubic interpolating phi and phi' at a and b (Nocedal & Wright
    2006, eq. 3.59), or None when it has none or a value is not finite."""
    if not all(map(math.isfinite, (a, fa, da, b, fb, db))) or a == b:
        return None
    d1 = da + db - 3 * (fa - fb) / (a - b)
    discriminant = d1 * d1 - da * db
    if not math.isfinite(discriminant) or discriminant < 0:
        return None
    d2 = math.copysign(math.sqrt(discriminant), b - a)
    denominator = db - da + 2 * d2
    if denominator == 0:
        return None
    x = b - (b - a) * (db + d2 - d1) / denominator
    return x if math.isfinite(x) else None


def _interpolate(lo, hi):
    """zoom's trial step between the points lo and hi (each (a, phi, phi', ...)): the
    cubic's minimizer kept 10% of the interval away from either end, else bisection."""
    width = abs(hi[0] - lo[0])
    low, high = min(lo[0], hi[0]) + 0.1 * width, max(lo[0], hi[0]) - 0.1 * width
    x = _cubic_minimizer(lo[0], lo[1], lo[2], hi[0], hi[1], hi[2])
    if x is None:
        return 0.5 * (lo[0] + hi[0])
    return min(max(x, low), high)


def strong_wolfe_line_search(phi, f0: float, slope0: float, step: float, c1: float = 1e-4,
                             c2: float = 0.9, max_evaluations: int = 25,
                             max_step: float = 1e10):
    """A step a > 0 along a descent direction d satisfying the strong Wolfe conditions
    (Nocedal & Wright 2006, Algorithm 3.5, bracketing, and Algorithm 3.6, zoom)::

        f(W + a d) <= f(W) + c1 a g.d                 (sufficient decrease)
        |g(W + a d).d| <= c2 |g.d|                    (curvature)

    Bracketing tries ``step``, 2 ``step``, 4 ``step``, ... until a trial breaks
    sufficient decrease, does not improve on the previous one, or has phi' >= 0; zoom
    then shrinks the bracket [a_lo, a_hi] around a point that satisfies both, each trial
    the minimizer of the cubic through phi and phi' at its ends (eq. 3.59), kept 10% of
    the bracket away from either end (bisection when the cubic has no minimizer).

    Parameters
    ----------
    phi : callable a -> (f, slope, g)
        The loss at W + a d, its derivative g(W + a d).d along d and the flat gradient
        (returned as it is with the accepted step).
    f0, slope0 : the loss at a = 0 and its slope g.d (< 0).
    step : the first trial step.
    max_evaluations : int
        At most this many calls of ``phi``; when they run out, the trial with the lowest
        loss among those satisfying sufficient decrease is returned.

    Returns
    -------
    (a, f, g): the step, the loss and gradient there; (0.0, f0, None) when no trial
    decreased the loss enough.
    """
    c1, c2 = _wolfe_constants(c1, c2)
    if not _number(slope0) or slope0 >= 0:
        raise ValueError(f"slope0 must be negative (d a descent direction); got {slope0!r}")
    step, max_step = _positive(step, "step"), _positive(max_step, "max_step")
    max_evaluations = _positive_int(max_evaluations, "max_evaluations")
    best = [0.0, f0, None]
    evaluations = 0

    def evaluate(a):
        nonlocal evaluations
        evaluations += 1
        f, slope, g = phi(a)
        f, slope = float(f), float(slope)
        armijo = math.isfinite(f) and f <= f0 + c1 * a * slope0
        if armijo and f < best[1]:
            best[:] = [a, f, g]
        return (a, f, slope, g), armijo

    def curvature(point):
        return math.isfinite(point[2]) and abs(point[2]) <= -c2 * slope0

    def zoom(lo, hi):
        while evaluations < max_evaluations and abs(hi[0] - lo[0]) > 1e-12 * max(lo[0], 1):
            point, armijo = evaluate(_interpolate(lo, hi))
            if not armijo or point[1] >= lo[1]:
                hi = point
            else:
                if curvature(point):
                    return point
                if point[2] * (hi[0] - lo[0]) >= 0:
                    hi = lo
                lo = point
        return None

    previous = (0.0, f0, slope0, None)
    a, found = step, None
    while evaluations < max_evaluations:
        point, armijo = evaluate(a)
        if not armijo or (evaluations > 1 and point[1] >= previous[1]):
            found = zoom(previous, point)
            break
        if curvature(point):
            found = point
            break
        if point[2] >= 0:
            found = zoom(point, previous)
            break
        if a >= max_step:
            break
        previous, a = point, min(2 * a, max_step)
    if found is not None:
        return found[0], found[1], found[3]
    return best[0], best[1], best[2]


def _along(params, closure, w, d):
    """phi for a line search: the loss, slope and flat gradient at W + a d."""
    def phi(a):
        LBFGS._assign(params, w + a * d)
        f = float(closure())
        g = LBFGS._flat(params, "grad")
        return f, g.dot(d), g
    return phi


class LBFGS(Optimizer):
    """Limited-memory BFGS (Liu & Nocedal 1989), full batch.

    Each ``minimize(params, closure)`` is one iteration: the search direction
    d = -H g comes from the two-loop recursion over the last ``history_size`` pairs
    s = W_{k+1} - W_k, y = g_{k+1} - g_k (H_0 = s.y / y.y), then a line search along d
    from step 1 (``learning_rate``):

    * ``line_search="armijo"`` (the default): backtracking, halving the step until the
      Armijo condition f(W + a d) <= f(W) + c1 a g.d holds;
    * ``line_search="strong_wolfe"``: :func:`strong_wolfe_line_search` (Nocedal & Wright
      2006, Algorithms 3.5 and 3.6), which also asks |g(W + a d).d| <= c2 |g.d|, so that
      s.y > 0 always holds (c2 = 0.9, their value for quasi-Newton methods).

    A pair is kept only when s.y > 0, so H stays
    positive definite; with every |g| <= ``tolerance_grad`` the step does nothing.
    ``closure()`` must recompute the loss over the full data set, set every ``.grad`` and
    return the loss.  The method needs the loss of the whole data set (``full_batch``),
    so in ``fit`` one epoch is one L-BFGS iteration.
    """

    full_batch = True

    def __init__(self, learning_rate=1.0, history_size: int = 10, c1: float = 1e-4,
                 max_line_search: int = 25, tolerance_grad: float = 1e-12, c2: float = 0.9,
                 line_search: str = "armijo"):
        super().__init__(learning_rate)
        self.tolerance_grad = _nonnegative(tolerance_grad, "tolerance_grad")
        if not isinstance(history_size, int) or history_size < 1:
            raise ValueError(f"history_size must be a positive integer; got {history_size!r}")
        self.history_size = history_size
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"line_search must be one of {', '.join(map(repr, LINE_SEARCHES))}"
                             f"; got {line_search!r}")
        self.line_search = line_search
        if line_search == "strong_wolfe":
            self.c1, self.c2 = _wolfe_constants(c1, c2)
        else:
            self.c1, self.c2 = _fraction(c1, "c1"), _open_unit(c2, "c2")
        self.max_line_search = _positive_int(max_line_search, "max_line_search")
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
        if self.line_search == "strong_wolfe":
            a, new_loss, g_new = strong_wolfe_line_search(
                _along(params, closure, w, d), loss, slope, a, self.c1, self.c2,
                self.max_line_search)
            self._assign(params, w + a * d)
            if g_new is None:  # no decrease found: stay where we were
                new_loss, g_new = loss, g
        else:
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
                "max_line_search": self.max_line_search, "tolerance_grad": self.tolerance_grad,
                "c2": self.c2, "line_search": self.line_search}


class _ClosureMethod(Optimizer):
    """A full-batch method that updates from the closure alone: flat float64 views of the
    parameters, and the check that the objective stays the same between calls."""

    full_batch = True

    def build(self, params):
        self._state = []
        self._end = None  # (flat weights, loss) where the last minimize left them

    def apply(self, params):
        raise TypeError(f"{type(self).__name__} cannot update from gradients alone: call "
                        "minimize(params, closure), closure() computing the full-batch loss "
                        "and setting .grad")

    _flat = staticmethod(LBFGS._flat)
    _assign = staticmethod(LBFGS._assign)

    def _evaluate(self, params, closure) -> tuple:
        """(loss, flat weights) at the start of a step, after checking that the objective
        is the one the last step left (see _check_same_objective)."""
        if self._state is None:
            self.build(params)
        loss = float(closure())
        w = self._flat(params, "data")
        self._check_same_objective(w, loss)
        return loss, w

    def _check_same_objective(self, w: np.ndarray, loss: float) -> None:
        """Refuse a closure whose loss changed at unchanged weights: its data changed
        between calls (mini-batches), or it is random (dropout)."""
        if self._end is None or not np.array_equal(w, self._end[0]):
            return
        before = self._end[1]
        if abs(loss - before) > 1e-6 * max(abs(loss), abs(before)) + 1e-12:
            raise ValueError(
                f"{type(self).__name__} needs the same objective at every call (the full "
                f"batch, no dropout): at unchanged weights the loss went from {before:.7g} "
                f"to {loss:.7g}, so the closure's data changed between calls (mini-batches?)."
                " fit gives it one batch of all samples per epoch; with minimize, let the "
                "closure compute the loss over the whole data set")

    def _remember_end(self, params, loss: float) -> None:
        self._end = (self._flat(params, "data"), float(loss))
        self.last_loss = float(loss)


class ConjugateGradient(_ClosureMethod):
    """Nonlinear conjugate gradient (Fletcher & Reeves 1964; Polak & Ribiere 1969;
    Hestenes & Stiefel 1952), full batch, with a strong Wolfe line search.

    Each ``minimize(params, closure)`` is one iteration k::

        d_0 = -g_0;    d_k = -g_k + beta_k d_{k-1};    W_{k+1} = W_k + a_k d_k

        method="fletcher_reeves":  beta = g_k.g_k / g_{k-1}.g_{k-1}
        method="polak_ribiere":    beta = max(0, g_k.y_k / g_{k-1}.g_{k-1})    (PR+)
        method="hestenes_stiefel": beta = g_k.y_k / d_{k-1}.y_k
        with y_k = g_k - g_{k-1}

    (Nocedal & Wright 2006, Algorithm 5.4 and eqs. 5.44-5.46).  PR+ (Powell 1986; Gilbert
    & Nocedal 1992) restarts by itself when beta_PR < 0; every method also restarts
    (d = -g) every ``restart`` iterations (the number of parameter values when None),
    whenever d is not a descent direction, and after a failed line search.  a_k comes
    from :func:`strong_wolfe_line_search` with c2 = 0.1 (Nocedal & Wright's value for
    CG; Fletcher-Reeves needs c2 < 1/2); the first trial step is
    ``learning_rate * min(1, 1 / sum|g|)`` after a restart and
    a_{k-1} g_{k-1}.d_{k-1} / g_k.d_k otherwise (eq. 3.60).  With every
    |g| <= ``tolerance_grad`` the iteration does nothing.

    ``closure()`` must compute the loss over the full data set (``full_batch``: in
    ``fit`` one epoch is one iteration); a closure whose loss changes at unchanged
    weights (mini-batches, dropout) is refused with a ValueError.
    """

    METHODS = ("fletcher_reeves", "polak_ribiere", "hestenes_stiefel")
    _ALIASES = {"fr": "fletcher_reeves", "pr": "polak_ribiere", "prp": "polak_ribiere",
                "pr+": "polak_ribiere", "hs": "hestenes_stiefel"}

    def __init__(self, learning_rate=1.0, method: str = "polak_ribiere",
                 restart: int | None = None, c1: float = 1e-4, c2: float = 0.1,
                 max_line_search: int = 25, tolerance_grad: float = 1e-12):
        super().__init__(_positive(learning_rate, "learning_rate"))
        key = method.lower().replace("-", "_") if isinstance(method, str) else method
        key = self._ALIASES.get(key, key)
        if key not in self.METHODS:
            raise ValueError(f"method must be one of {', '.join(map(repr, self.METHODS))} "
                             f"(or 'fr', 'pr', 'hs'); got {method!r}")
        self.method = key
        self.restart = None if restart is None else _positive_int(restart, "restart")
        self.c1, self.c2 = _wolfe_constants(c1, c2)
        self.max_line_search = _positive_int(max_line_search, "max_line_search")
        self.tolerance_grad = _nonnegative(tolerance_grad, "tolerance_grad")
        self.last_loss = None
        self._clear()

    def _clear(self):
        self._d = self._g = None  # d_{k-1}, g_{k-1}
        self._step = self._slope = 0.0  # a_{k-1}, g_{k-1}.d_{k-1}
        self._since_restart = 0

    def build(self, params):
        super().build(params)
        self._clear()

    def beta(self, g: np.ndarray) -> float | None:
        """beta_k of the chosen method from g_k and the stored g_{k-1}, d_{k-1}; None
        when it is undefined (a zero denominator: restart)."""
        g_prev, d_prev = self._g, self._d
        if self.method == "fletcher_reeves":
            numerator, denominator = g.dot(g), g_prev.dot(g_prev)
        elif self.method == "polak_ribiere":
            numerator, denominator = g.dot(g - g_prev), g_prev.dot(g_prev)
        else:
            y = g - g_prev
            numerator, denominator = g.dot(y), d_prev.dot(y)
        if denominator == 0 or not np.isfinite(denominator):
            return None
        beta = numerator / denominator
        return max(0.0, beta) if self.method == "polak_ribiere" else beta

    def minimize(self, params, closure):
        loss, w = self._evaluate(params, closure)
        g = self._flat(params, "grad")
        self.iterations += 1
        if np.max(np.abs(g), initial=0.0) <= self.tolerance_grad:  # converged: stay
            self._remember_end(params, loss)
            return loss
        d = None
        if self._d is not None and self._d.size == g.size \
                and self._since_restart < (self.restart or g.size):
            beta = self.beta(g)
            if beta is not None:
                d = -g + beta * self._d
                if not g.dot(d) < 0:  # not a descent direction
                    d = None
        if d is None:  # (re)start from steepest descent
            d, self._since_restart = -g, 0
            step = self.learning_rate * min(1.0, 1.0 / np.abs(g).sum())
        slope = float(g.dot(d))
        if self._since_restart:
            step = self._step * self._slope / slope  # Nocedal & Wright eq. 3.60
        a, new_loss, _ = strong_wolfe_line_search(_along(params, closure, w, d), loss, slope,
                                                  step, self.c1, self.c2,
                                                  self.max_line_search)
        self._assign(params, w + a * d)
        if a == 0:  # no decrease along d: stay, and restart next time
            self._clear()
            self._remember_end(params, loss)
            return loss
        self._d, self._g, self._step, self._slope = d, g, a, slope
        self._since_restart += 1
        self._remember_end(params, new_loss)
        return loss

    def get_state(self):
        """d_{k-1}, g_{k-1} and [a_{k-1}, g_{k-1}.d_{k-1}, iterations since the restart]."""
        if self._d is None:
            return []
        return [self._d.copy(), self._g.copy(),
                np.array([self._step, self._slope, self._since_restart], np.float64)]

    def set_state(self, params, arrays, iterations):
        self.build(params)
        arrays = list(arrays)
        if arrays:
            size = sum(p.size for p in params)
            if len(arrays) != 3 or arrays[0].shape != (size,) or arrays[1].shape != (size,) \
                    or arrays[2].shape != (3,):
                raise ValueError(f"ConjugateGradient state: expected d and g of {size} values "
                                 f"and 3 scalars; got shapes {[a.shape for a in arrays]}")
            self._d, self._g = (a.astype(np.float64) for a in arrays[:2])
            self._step, self._slope, since = (float(v) for v in arrays[2])
            self._since_restart = int(since)
        self.iterations = int(iterations)

    def get_config(self):
        return {**super().get_config(), "method": self.method, "restart": self.restart,
                "c1": self.c1, "c2": self.c2, "max_line_search": self.max_line_search,
                "tolerance_grad": self.tolerance_grad}


# -- least squares -----------------------------------------------------------------------------
def jacobian(residual_fn, params, max_entries: int | None = None):
    """The residuals and their Jacobian, from the engine: (r, J) with r the values of
    ``residual_fn()`` (a Tensor of any shape, flattened) and J[i, j] = dr_i / dW_j, W
    being every value of ``params`` in order (each parameter flattened), both float64.

    One forward pass, then one reverse pass per residual: row i of J is the gradient of
    r_i (``grad(r, params, gradient=e_i)``).  ``max_entries`` (an int) refuses, with a
    ValueError giving the numbers, a J of more entries, before any reverse pass.
    """
    from .autograd import Tensor, grad

    if max_entries is not None:
        max_entries = _positive_int(max_entries, "max_entries")
    params = list(params)
    out = residual_fn()
    if not isinstance(out, Tensor):
        raise TypeError(f"jacobian: residual_fn must return a Tensor; got "
                        f"{type(out).__name__}")
    m, n = out.data.size, sum(p.size for p in params)
    if max_entries is not None and m * n > max_entries:
        raise ValueError(
            f"the Jacobian would have {m:,} residuals x {n:,} parameters = {m * n:,} entries "
            f"({m * n * 8 / 1e6:,.0f} MB in float64), over max_jacobian_entries="
            f"{max_entries:,}: train on fewer samples or a smaller network, or raise "
            "max_jacobian_entries")
    J = np.zeros((m, n))
    if m and n and out.requires_grad:
        seed = np.zeros(out.shape, out.dtype)
        flat = seed.reshape(-1)
        for i in range(m):
            flat[i] = 1
            rows = grad(out, params, gradient=seed, allow_unused=True)
            J[i] = np.concatenate([row.ravel() for row in rows])  # copies before the reset
            flat[i] = 0
    return np.asarray(out.data, np.float64).ravel(), J


def least_squares_residuals(model, x, y, max_entries: int | None = None):
    """The ``closure.residuals`` of :class:`LevenbergMarquardt` for ``model`` on the batch
    (x, y): a callable returning (r, J), r = outputs - targets at the current weights
    (n x outputs values, sample by sample) and J = dr/dW by :func:`jacobian`.

    The model's loss must be the mean squared error, mean(r^2): anything else raises a
    ValueError naming it.  Layer penalties are not residuals: the Levenberg-Marquardt
    step models the squared error alone (they still count when a step is accepted).
    """
    from . import losses
    from .autograd import Tensor

    if max_entries is not None:
        max_entries = _positive_int(max_entries, "max_entries")
    loss = model.loss
    if not (isinstance(loss, losses.MeanSquaredError)
            or getattr(loss, "fn", None) is losses.mean_squared_error):
        name = "none (compile the model first)" if loss is None else \
            repr(getattr(loss, "name", None) or type(loss).__name__)
        raise ValueError(f"Levenberg-Marquardt minimizes a sum of squares: the model's loss "
                         f"must be the mean squared error (loss='mse'); got loss {name}")
    targets = np.asarray(y)

    def residual_fn():
        out = model(x, training=True)
        if targets.size != out.data.size:
            raise ValueError(f"y: {targets.size} target values for {out.data.size} outputs")
        return out - Tensor(targets.reshape(out.shape).astype(out.dtype))

    def residuals():
        return jacobian(residual_fn, model.params, max_entries)
    return residuals


class LevenbergMarquardt(_ClosureMethod):
    """Levenberg-Marquardt for a sum of squares (Levenberg 1944; Marquardt 1963), as
    applied to networks by Hagan & Menhaj (1994) and MATLAB's ``trainlm``; full batch.

    With r the residuals (outputs - targets, all n x outputs of them) and J = dr/dW,
    each ``minimize(params, closure)`` is one iteration::

        solve (J^T J + mu I) delta = -J^T r       (Cholesky factorization)
        W_try = W + learning_rate * delta
        loss(W_try) < loss(W):  W <- W_try, mu <- mu * mu_dec     (towards Gauss-Newton)
        otherwise:              mu <- mu * mu_inc and solve again (towards gradient descent)

    until a step is accepted or mu would exceed ``mu_max`` (the weights then stay, mu
    stays at its last value <= mu_max).  A factorization that fails counts as a rejected
    step.  Defaults are ``trainlm``'s: mu = 1e-3, mu_dec = 0.1, mu_inc = 10,
    mu_max = 1e10; learning_rate 1 takes the full step.  With every |J^T r| <=
    ``tolerance_grad`` the iteration does nothing.

    Needs the residuals, not only the loss (``needs_residuals``): ``closure.residuals()``
    must return (r, J) (see :func:`least_squares_residuals`, which requires the mean
    squared error loss, and :func:`jacobian`).  J has n x outputs x parameters entries
    and J^T J parameters x parameters: either over ``max_jacobian_entries`` (50 million:
    400 MB in float64) is refused with a ValueError before it is computed (a network of
    more than 7,071 parameters, whatever the data).
    ``closure()`` must compute the loss over the full data set (``full_batch``); a
    closure whose loss changes at unchanged weights is refused.  The current mu is the
    state saved with a model.
    """

    needs_residuals = True
    scalars = ("current_mu",)

    def __init__(self, learning_rate=1.0, mu: float = 1e-3, mu_dec: float = 0.1,
                 mu_inc: float = 10.0, mu_max: float = 1e10,
                 max_jacobian_entries: int = 50_000_000, tolerance_grad: float = 1e-12):
        super().__init__(_positive(learning_rate, "learning_rate"))
        self.mu = _positive(mu, "mu")
        self.mu_dec = _open_unit(mu_dec, "mu_dec")
        self.mu_inc = _positive(mu_inc, "mu_inc")
        if self.mu_inc <= 1:
            raise ValueError(f"mu_inc must be greater than 1; got {mu_inc!r}")
        self.mu_max = _positive(mu_max, "mu_max")
        if self.mu_max < self.mu:
            raise ValueError(f"mu_max must be at least mu={self.mu!r}; got {mu_max!r}")
        self.max_jacobian_entries = _positive_int(max_jacobian_entries,
                                                  "max_jacobian_entries")
        self.tolerance_grad = _nonnegative(tolerance_grad, "tolerance_grad")
        self.current_mu = self.mu
        self.last_loss = None

    @staticmethod
    def step(J: np.ndarray, r: np.ndarray, mu: float) -> np.ndarray | None:
        """delta solving (J^T J + mu I) delta = -J^T r by Cholesky; None when the matrix is
        not numerically positive definite."""
        return LevenbergMarquardt.solve(J.T @ J, J.T @ r, mu)

    @staticmethod
    def solve(JtJ: np.ndarray, Jtr: np.ndarray, mu: float) -> np.ndarray | None:
        """delta solving (J^T J + mu I) delta = -J^T r from the normal equations' two
        sides (what a map-reduce over the samples sums); None as :meth:`step`."""
        A = JtJ.copy()
        A[np.diag_indices_from(A)] += mu
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            return None
        delta = np.linalg.solve(L.T, np.linalg.solve(L, -Jtr))
        return delta if np.all(np.isfinite(delta)) else None

    def check_size(self, params) -> None:
        """Refuse, before anything is computed, a model whose normal matrix J^T J (n x n
        for n parameters, with its Cholesky factor beside it) has more than
        ``max_jacobian_entries`` entries: J is bounded when it is computed
        (:func:`jacobian`), J^T J here."""
        n = sum(int(np.size(p.data if hasattr(p, "data") else p)) for p in params)
        if n * n > self.max_jacobian_entries:
            raise ValueError(
                f"Levenberg-Marquardt solves with J^T J, {n:,} x {n:,} = {n * n:,} entries "
                f"({n * n * 8 / 1e6:,.0f} MB in float64, twice that with its factor) for the "
                f"model's {n:,} parameters, over max_jacobian_entries="
                f"{self.max_jacobian_entries:,}: use a network of at most "
                f"{math.isqrt(self.max_jacobian_entries):,} parameters or another optimizer "
                "(L-BFGS: optimizer='lbfgs'), or raise max_jacobian_entries")

    def minimize(self, params, closure):
        params = list(params)
        self.check_size(params)
        loss, w = self._evaluate(params, closure)
        residuals = getattr(closure, "residuals", None)
        normal_equations = getattr(closure, "normal_equations", None)
        if callable(normal_equations):  # J^T J and J^T r summed elsewhere (nnlearn.data.dask)
            JtJ, Jtr = (np.asarray(a, np.float64) for a in normal_equations())
            if JtJ.shape != (w.size, w.size) or Jtr.shape != (w.size,):
                raise ValueError(f"closure.normal_equations() must return J^T J of shape "
                                 f"({w.size}, {w.size}) and J^T r of shape ({w.size},); got "
                                 f"{JtJ.shape} and {Jtr.shape}")
        elif not callable(residuals):
            raise TypeError(
                "LevenbergMarquardt needs the residuals and their Jacobian: the closure must "
                "carry closure.residuals() -> (r, J) (optimizers.least_squares_residuals "
                "builds it for a model compiled with loss='mse'; Model.train_step attaches "
                "it when the optimizer's needs_residuals is True)")
        else:
            r, J = residuals()
            r, J = np.asarray(r, np.float64).ravel(), np.asarray(J, np.float64)
            if J.shape != (r.size, w.size):
                raise ValueError(f"closure.residuals() must return r and J of shape (len(r), "
                                 f"number of parameter values) = ({r.size}, {w.size}); got "
                                 f"J of shape {J.shape}")
            JtJ, Jtr = J.T @ J, J.T @ r
        self.iterations += 1
        new_loss = loss
        if np.max(np.abs(Jtr), initial=0.0) > self.tolerance_grad:
            mu = self.current_mu
            while True:
                delta = self.solve(JtJ, Jtr, mu)
                if delta is not None:
                    self._assign(params, w + self.learning_rate * delta)
                    trial = float(closure())
                    if math.isfinite(trial) and trial < loss:
                        new_loss, mu = trial, mu * self.mu_dec
                        break
                if mu * self.mu_inc > self.mu_max:  # give up: stay where we were
                    self._assign(params, w)
                    break
                mu *= self.mu_inc
            self.current_mu = mu
        self._remember_end(params, new_loss)
        return loss

    def get_config(self):
        return {**super().get_config(), "mu": self.mu, "mu_dec": self.mu_dec,
                "mu_inc": self.mu_inc, "mu_max": self.mu_max,
                "max_jacobian_entries": self.max_jacobian_entries,
                "tolerance_grad": self.tolerance_grad}


# -- sign-based and secant rules --------------------------------------------------------------
def _pair(value, name, check):
    if not isinstance(value, (tuple, list)) or len(value) != 2 \
            or not all(_number(v) for v in value) or not check(*value):
        raise ValueError(f"{name} must be a pair of numbers {check.__doc__}; got {value!r}")
    return (float(value[0]), float(value[1]))


def _etas(minus, plus):
    """(eta_minus, eta_plus) with 0 < eta_minus < 1 < eta_plus"""
    return 0 < minus < 1 < plus


def _step_sizes(low, high):
    """(minimum, maximum) with 0 <= minimum <= maximum"""
    return 0 <= low <= high


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun 1993) in the form PyTorch's
    ``torch.optim.Rprop`` implements, with its defaults: Rprop without weight-backtracking
    where a sign change sets g to 0 for that step (iRprop- in Igel & Husken 2000's
    naming).  Element by element, with step sizes Delta starting at ``learning_rate``::

        g_{t-1} g_t > 0:  Delta <- min(Delta eta+, Delta_max)
        g_{t-1} g_t < 0:  Delta <- max(Delta eta-, Delta_min);  g_t <- 0
        otherwise:        Delta unchanged (then clipped to [Delta_min, Delta_max])
        W <- W - sign(g_t) Delta;     g_{t-1} <- g_t

    Defaults (PyTorch's): learning_rate 0.01, etas (eta-, eta+) = (0.5, 1.2), step_sizes
    (Delta_min, Delta_max) = (1e-6, 50); Riedmiller & Braun used Delta_0 = 0.1.

    Only the sign of g is used, so its scale (and gradient clipping) does not matter.
    Rprop was made for batch learning: a sign change is read as having jumped over a
    minimum, which on mini-batches is as often sampling noise, and the step sizes then
    shrink to nothing (the reason RMSprop exists; Hinton 2012).  So ``full_batch`` is
    True: in ``fit`` one epoch is one step on all samples.  ``minimize``/``apply`` with a
    mini-batch closure still work, noisily.
    """

    slots = ("prev_gradient", "step_size")
    full_batch = True
    uses_scratch = True

    def __init__(self, learning_rate=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
        super().__init__(_positive(learning_rate, "learning_rate"))
        self.etas = _pair(etas, "etas", _etas)
        self.step_sizes = _pair(step_sizes, "step_sizes", _step_sizes)

    def build(self, params):
        super().build(params)
        for state in self._state:
            state["step_size"][...] = self.learning_rate

    def _adapt(self, g, state, scratch):
        """Adapt the step sizes in place; returns the mask of the sign changes."""
        np.multiply(g, state["prev_gradient"], out=scratch)
        changed = scratch < 0
        step = state["step_size"]
        factor = np.where(scratch > 0, self.etas[1], np.where(changed, self.etas[0], 1.0))
        step *= factor.astype(step.dtype, copy=False)
        np.clip(step, *self.step_sizes, out=step)
        return changed

    def update(self, w, g, state, lr, scratch):
        changed = self._adapt(g, state, scratch)
        prev = state["prev_gradient"]
        np.copyto(prev, g)
        prev[changed] = 0                                     # g_t <- 0 where it flipped
        np.sign(prev, out=scratch)
        scratch *= state["step_size"]
        w -= scratch                                          # W -= sign(g) Delta

    def get_config(self):
        return {**super().get_config(), "etas": self.etas, "step_sizes": self.step_sizes}


class IRpropPlus(Rprop):
    """iRprop+ (Igel & Husken 2000): Rprop with weight-backtracking only when the error
    went up.  Element by element, E_t being the loss at the current weights::

        g_{t-1} g_t > 0:  Delta <- min(Delta eta+, Delta_max);  dW <- -sign(g_t) Delta
                          W <- W + dW
        g_{t-1} g_t < 0:  Delta <- max(Delta eta-, Delta_min)
                          if E_t > E_{t-1}:  W <- W - dW      (undo the last step)
                          g_t <- 0;  dW <- 0
        otherwise:        dW <- -sign(g_t) Delta;  W <- W + dW
        g_{t-1} <- g_t

    The same defaults as :class:`Rprop` (PyTorch's; Igel & Husken used eta 0.5 / 1.2,
    Delta_max 50).  The rule needs the loss, so it updates through ``minimize(params,
    closure)`` only; the previous loss is saved with the state.  Full batch, like Rprop.
    """

    slots = ("prev_gradient", "step_size", "prev_update")
    scalars = ("_prev_loss",)

    def __init__(self, learning_rate=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
        super().__init__(learning_rate, etas, step_sizes)
        self._prev_loss = math.nan
        self._error_increased = False

    def apply(self, params):
        raise TypeError("IRpropPlus needs the loss to decide on backtracking: call "
                        "minimize(params, closure)")

    def minimize(self, params, closure):
        loss = float(closure())
        self._error_increased = loss > self._prev_loss  # False while there is none (nan)
        Optimizer.apply(self, params)
        self._prev_loss = loss
        return loss

    def update(self, w, g, state, lr, scratch):
        changed = self._adapt(g, state, scratch)
        prev, dw = state["prev_gradient"], state["prev_update"]
        if self._error_increased:
            w[changed] -= dw[changed]                         # weight-backtracking
        np.copyto(prev, g)
        prev[changed] = 0
        np.sign(prev, out=dw)
        dw *= state["step_size"]
        np.negative(dw, out=dw)                               # dW = -sign(g) Delta (0 if flipped)
        w += dw


class Quickprop(Optimizer):
    """Quickprop (Fahlman 1988): each weight's error taken as a parabola in that weight
    alone, fitted through the last two slopes, and the step jumps to its minimum::

        dW_t = dW_{t-1} g_t / (g_{t-1} - g_t)

    bounded by the maximum growth factor mu (1.75): |dW_t| <= mu |dW_{t-1}|.  The
    variant is Fahlman's own code (quickprop1.c), element by element, with epsilon =
    ``learning_rate`` and shrink = mu / (1 + mu)::

        dW_{t-1} = 0 (first step):  dW_t = -epsilon g_t
        dW_{t-1} > 0 (< 0):
            dW_t  = -epsilon g_t  if g_t < 0 (> 0): still going downhill, add the
                                  gradient-descent term; else 0
            dW_t += mu dW_{t-1}   if g_t <= shrink g_{t-1} (>=): the parabola's step would
                                  grow more than mu times (or the slope did not shrink)
            dW_t += dW_{t-1} g_t / (g_{t-1} - g_t)   otherwise (when g_{t-1} - g_t = 0 there,
                                  the gradient-descent term is taken instead)
        W <- W + dW_t

    Fahlman's weight decay term is left to the layers' regularizers.  Like Rprop, the
    secant between two gradients assumes one error function, so ``full_batch`` is True.
    """

    slots = ("prev_gradient", "prev_update")
    full_batch = True

    def __init__(self, learning_rate=0.1, mu: float = 1.75, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.mu = _positive(mu, "mu")

    def update(self, w, g, state, lr, scratch):
        p, d = state["prev_gradient"], state["prev_update"]
        mu, shrink = self.mu, self.mu / (1 + self.mu)
        positive, negative = d > 0, d < 0
        moved = positive | negative
        denominator = p - g
        maximum = (positive & (g <= shrink * p)) | (negative & (g >= shrink * p))
        quadratic = moved & ~maximum & (denominator != 0)
        linear = ~moved | (positive & (g < 0)) | (negative & (g > 0)) \
            | (moved & ~maximum & (denominator == 0))
        step = np.where(linear, -lr * g, 0.0)
        step += np.where(maximum, mu * d, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            step += np.where(quadratic, d * g / np.where(quadratic, denominator, 1), 0.0)
        w += step.astype(w.dtype, copy=False)
        np.copyto(d, step, casting="same_kind")
        np.copyto(p, g)

    def get_config(self):
        return {**super().get_config(), "mu": self.mu}


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "adadelta": Adadelta, "rmsprop": RMSprop,
              "adam": Adam, "nadam": Nadam, "lbfgs": LBFGS,
              "conjugate_gradient": ConjugateGradient,
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
