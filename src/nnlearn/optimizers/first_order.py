r"""The Keras-style optimizers: the public classes (``SGD``, ``Adam``, ...), each built as a
chain of transforms (:mod:`.transforms`, :mod:`.rules`) and keeping Keras's constructor
arguments, ``get_config`` and the state layout of the model files.

The contract every optimizer keeps (the one the training step calls):

* ``minimize(params, closure) -> loss``: ``closure()`` computes the loss, sets every
  parameter's ``.grad`` and returns the loss (an :class:`~.objective.Objective` is such a
  closure); the optimizer calls it as often as its method needs (once for a first-order
  rule, several times for L-BFGS's line search) and returns the loss at the parameters it
  started from (as PyTorch's ``optimizer.step(closure)`` does).
* ``apply(params)``: one update from the gradients already in ``.grad``.
* ``full_batch``: True when the method needs the loss of the whole data set (then
  ``fit`` makes every epoch one batch of all samples).
* State: ``slots`` names the per-parameter arrays (allocated by ``build``, updated in
  place, saved with a model by ``get_state`` / ``set_state``, the scalars of ``scalars``
  after them).

A first-order class defines :meth:`Optimizer.transform`, its chain; the clipping
arguments (``clipvalue``, ``clipnorm``: Pascanu, Mikolov & Bengio 2013) go in front of it,
and the chain's element-wise transforms and the addition $W \leftarrow W + u$ run as one
fused kernel over all parameters (:mod:`nnlearn.lowering.loops`).  A class may instead define
``update(w, g, state, lr, scratch)``, its own update per parameter (Rprop, Quickprop), or
its own ``minimize`` (the line searches and trust regions of :mod:`.full_batch`).

``learning_rate`` may be a number or a schedule from :mod:`nnlearn.schedules` (evaluated
at the step count).
"""

from __future__ import annotations

import inspect

import numpy as np

from .. import schedules
from .._registry import constructor_repr
from .._validation import unknown_keyword
from ._arguments import fraction, nonnegative
from .rules import (scale_by_adadelta, scale_by_adagrad, scale_by_adam, scale_by_momentum,
                    scale_by_nadam, scale_by_rms)
from .transforms import (GradientClipping, add_decayed_weights, chain,
                         scale_by_learning_rate)

__all__ = ["Optimizer", "FromTransform", "SGD", "SGDW", "Adagrad", "Adadelta", "RMSprop",
           "Adam", "AdamW", "Nadam"]

_LEGACY = False  # Optimizer._chain of a class without a transform (its own update)


class Optimizer:
    """Base class (see the module).  A subclass defines :meth:`transform` (the usual
    case), or ``update(w, g, state, lr, scratch)``, which changes ``w`` in place
    (``state`` maps each name of its ``slots`` to its array; ``scratch`` is a work array
    of w's shape when it sets ``uses_scratch``, else None)."""

    uses_scratch = False
    full_batch = False
    needs_residuals = False

    def __init__(self, learning_rate=0.01, clipnorm=None, clipvalue=None, **unknown):
        if unknown:  # a clearer TypeError than Python's, which names this base class
            name = next(iter(unknown))
            known = dict.fromkeys([*inspect.signature(type(self)).parameters, "clipnorm",
                                   "clipvalue"])
            known = [p for p in known if p not in ("kwargs", "unknown")]
            if name == "lr":  # Keras 2's name, which difflib does not match
                raise TypeError(f"{type(self).__name__}: unknown argument 'lr'; the "
                                f"learning rate is learning_rate= (its arguments: "
                                f"{', '.join(known)})")
            raise unknown_keyword(type(self).__name__, name, known)
        self.learning_rate = learning_rate
        clipping = GradientClipping(clipnorm, clipvalue)
        self.clipping = clipping if clipping.get_config() else None
        self.iterations = 0
        self._state = None

    # -- the learning rate, and the chain built from it ---------------------------------------
    @property
    def learning_rate(self):
        """A number, or a schedule of :mod:`nnlearn.schedules`; setting it (a callback,
        a learning-rate search) takes effect at the next step."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value if isinstance(value, schedules.Schedule) else \
            nonnegative(value, "learning_rate")
        self._chain = None  # rebuilt with the new rate at the next step (its state stays)

    @property
    def current_learning_rate(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at the step count)."""
        if isinstance(self.learning_rate, schedules.Schedule):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def transform(self):
        """The chain of transforms this optimizer is (without the clipping, which
        :meth:`chain` puts in front); None for a class with its own update."""
        return None

    def chain(self):
        """The whole chain a step runs: the clipping transforms, then :meth:`transform`;
        None for a class with its own update."""
        rule = self.transform()
        if rule is None:
            return None
        return chain(*(self.clipping.transforms() if self.clipping else []), rule)

    def _current_chain(self):
        built = self.__dict__.get("_chain")
        if built is None:
            built = self.chain()
            self._chain = _LEGACY if built is None else built
        return built

    @property
    def slots(self) -> tuple:
        """The names of the per-parameter state arrays."""
        built = self._current_chain()
        return built.slots if built else ()

    @property
    def scalars(self) -> tuple:
        """The names of the scalar state."""
        built = self._current_chain()
        return built.scalars if built else ()

    # -- a step ---------------------------------------------------------------------------------
    def build(self, params) -> None:
        """Allocate the state (one array per slot and parameter) and the scratch arrays
        (when the rule uses them)."""
        built = self._current_chain()
        if built:
            self._transform_state = built.init(params)
            self._state = self._transform_state.slots
            return
        self._state = [{slot: np.zeros_like(p.data) for slot in self.slots} for p in params]
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
        ``"rule"``, the chain's fused kernel on all parameters at once; ``"update"``, the
        class's own :meth:`update` per parameter; ``"method"``, a :meth:`minimize` of its
        own that evaluates the loss itself (line searches, trust regions)."""
        if cls.minimize is not Optimizer.minimize:
            return "method"
        return "rule" if cls.update is Optimizer.update else "update"

    def apply(self, params) -> None:
        """Apply one update to every parameter from its ``.grad``."""
        if self._state is None:
            self.build(params)
        built = self._chain
        if built is None:
            built = self._current_chain()
        if built:
            state = self._transform_state
            state.count = self.iterations  # the step count is the optimizer's (saved with it)
            built.descend(params, state)
            self.iterations = state.count
            return
        lr = self.begin_step()
        for i, p in enumerate(params):
            g = p.grad
            if g is not None:
                if self.clipping is not None:
                    g = self.clipping(g, self._clipped[i])
                self.update(p.data, g, self._state[i], lr, self._scratch[i])
        self.end_step()

    def begin_step(self) -> float:
        """Count a step; returns its learning rate (before every parameter's update of a
        class with its own update)."""
        lr = self.current_learning_rate
        self.iterations += 1
        return lr

    def end_step(self) -> None:
        """After every parameter's update (a rule with state across parameters ends its
        step here)."""

    def update(self, w: np.ndarray, g: np.ndarray, state: dict, lr: float,
               scratch: np.ndarray) -> None:
        """Change ``w`` in place from its gradient ``g`` (a class with its own update)."""
        raise NotImplementedError(f"{type(self).__name__} defines neither transform() nor "
                                  "update()")

    def describe(self) -> str:
        """The chain a step runs: its runs of element-wise transforms (joined by +, each
        one fused kernel) and the transforms with a pass of their own, in order (what the
        planner reports)."""
        built = self._current_chain()
        if not built:
            return f"{type(self).__name__}.update"
        return ", then ".join(" + ".join(type(t).__name__ for t in run)
                              if isinstance(run, tuple) else f"{type(run).__name__} (its own pass)"
                              for run in built.runs)

    def fused(self) -> bool:
        """Whether a step is one kernel over all parameters (every transform of the
        chain element-wise: no norm to compute first)."""
        built = self._current_chain()
        return bool(built) and all(t.elementwise for t in built.transforms)

    # -- configuration and state ----------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments (saved in model files)."""
        lr = self.learning_rate
        config = {"learning_rate": schedules.serialize(lr)
                  if isinstance(lr, schedules.Schedule) else lr}
        return {**config, **(self.clipping.get_config() if self.clipping else {})}

    def extra_state(self) -> list:
        """The scalar state named in ``scalars`` (saved with the arrays)."""
        if self.__dict__.get("_chain") and self._state is not None:
            return [float(self._transform_state.scalars[name]) for name in self.scalars]
        return [float(getattr(self, name)) for name in self.scalars]

    def set_extra_state(self, values: list) -> None:
        """Restore the scalars saved by extra_state."""
        if self.__dict__.get("_chain") and self._state is not None:
            for name, value in zip(self.scalars, values):
                self._transform_state.scalars[name] = float(value)
            return
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

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_chain"] = None  # rebuilt from the configuration (kernels are not copied)
        return state

    def __repr__(self):
        """``SGD(learning_rate=0.1, momentum=0.9)``: code that builds the same optimizer
        (a schedule written as ``nl.schedules.StepDecay(...)``)."""
        text = constructor_repr(self, self.get_config())
        lr = self.learning_rate
        if isinstance(lr, schedules.Schedule):
            text = text.replace(f"learning_rate={schedules.serialize(lr)!r}",
                                f"learning_rate=nl.schedules.{lr!r}")
        return text


class FromTransform(Optimizer):
    """An optimizer that runs a transform you built (:func:`~.transforms.chain` of
    :mod:`.transforms` and :mod:`.rules`), so that ``model.compile`` and ``fit`` take it::

        model.compile(FromTransform(chain(clip_by_global_norm(1.0), scale_by_adam(),
                                          scale_by_learning_rate(1e-3))), "mse")

    The transform carries its own learning rate, so ``learning_rate`` here is only
    reported (callbacks that change it do not reach the transform).  A model with such an
    optimizer cannot be saved with its optimizer (model files store built-in optimizers
    by name and arguments, never code)."""

    def __init__(self, transform):
        from .transforms import Transform

        if not isinstance(transform, Transform):
            raise TypeError(f"FromTransform: transform must be a Transform (e.g. a chain); "
                            f"got {type(transform).__name__}")
        rates = [t.learning_rate for t in getattr(transform, "transforms", [transform])
                 if getattr(t, "learning_rate", None) is not None]
        super().__init__(rates[0] if rates else 0.0)
        self._transform = transform

    def transform(self):
        return self._transform

    def __repr__(self):
        return f"FromTransform({self._transform!r})"


class SGD(Optimizer):
    r"""Gradient descent (Robbins & Monro 1951), with momentum (Polyak 1964) and Nesterov
    momentum (Nesterov 1983):

    $$\text{plain:}\quad W \leftarrow W - \alpha g$$
    $$\text{momentum:}\quad v \leftarrow \mu v - \alpha g; \quad W \leftarrow W + v$$
    $$\text{Nesterov:}\quad v \leftarrow \mu v - \alpha g; \quad
      W \leftarrow W - \alpha g + \mu v$$

    i.e. ``chain(scale_by_learning_rate(alpha), scale_by_momentum(mu, nesterov))``.
    Nesterov's form is Sutskever et al. (2013)'s written for the look-ahead point
    $W + \mu v$ (Bengio et al. 2012).  Full-batch GD and online SGD are this optimizer with
    ``batch_size=len(x)`` and ``batch_size=1`` in ``fit``.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)

    def transform(self):
        rate = scale_by_learning_rate(self.learning_rate)
        if not self.momentum:
            return chain(rate)
        return chain(rate, scale_by_momentum(self.momentum, self.nesterov))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class SGDW(SGD):
    r"""SGD with decoupled weight decay (SGDW, Loshchilov & Hutter 2019, Algorithm 1):
    the decay is not part of the gradient, so the momentum does not carry it:

    $$v \leftarrow \mu v - \alpha g; \qquad W \leftarrow W + v - \alpha \lambda W$$

    (with Nesterov: $W \leftarrow W - \alpha g + \mu v - \alpha \lambda W$), i.e.
    ``chain(scale_by_learning_rate(alpha), scale_by_momentum(mu),
    add_decayed_weights(lambda, learning_rate=alpha))``.  The decay is scaled by the
    learning rate, as in PyTorch's and Keras's AdamW ($\lambda$ = ``weight_decay``).
    PyTorch's ``SGD(weight_decay=...)`` is the coupled form, $g + \lambda W$ into the
    momentum: ``chain(add_decayed_weights(lambda), scale_by_learning_rate(alpha),
    scale_by_momentum(mu))``.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.01, **kwargs):
        super().__init__(learning_rate, momentum, nesterov, **kwargs)
        self.weight_decay = nonnegative(weight_decay, "weight_decay")

    def transform(self):
        return chain(super().transform(),
                     add_decayed_weights(self.weight_decay, learning_rate=self.learning_rate))

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al. 2011), diagonal form:

    $$G \leftarrow G + g^2; \qquad W \leftarrow W - \alpha \frac{g}{\sqrt{G + \epsilon}}$$

    $G$ starts at ``initial_accumulator_value`` (Keras: 0.1):
    ``chain(scale_by_adagrad(...), scale_by_learning_rate(alpha))``.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = nonnegative(initial_accumulator_value,
                                                     "initial_accumulator_value")
        self.epsilon = nonnegative(epsilon, "epsilon")

    def transform(self):
        return chain(scale_by_adagrad(self.initial_accumulator_value, self.epsilon),
                     scale_by_learning_rate(self.learning_rate))

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012, Algorithm 1):

    $$E[g^2] \leftarrow \rho E[g^2] + (1 - \rho) g^2; \qquad
      \Delta W = -\frac{\sqrt{E[\Delta W^2] + \epsilon}}{\sqrt{E[g^2] + \epsilon}} g$$
    $$E[\Delta W^2] \leftarrow \rho E[\Delta W^2] + (1 - \rho) \Delta W^2; \qquad
      W \leftarrow W + \alpha \Delta W$$

    Zeiler's rule has no learning rate ($\alpha = 1$, the default); $\rho = 0.95$ and
    $\epsilon = 10^{-6}$ are the paper's values.
    """

    def __init__(self, learning_rate=1.0, rho: float = 0.95, epsilon: float = 1e-6, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = fraction(rho, "rho")
        self.epsilon = nonnegative(epsilon, "epsilon")

    def transform(self):
        return chain(scale_by_adadelta(self.rho, self.epsilon),
                     scale_by_learning_rate(self.learning_rate))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    r"""RMSprop (Tieleman & Hinton 2012, Coursera lecture 6e), Keras's form and defaults:

    $$E[g^2] \leftarrow \rho E[g^2] + (1 - \rho) g^2; \qquad
      W \leftarrow W - \alpha \frac{g}{\sqrt{E[g^2] + \epsilon}}$$
    """

    def __init__(self, learning_rate=0.001, rho: float = 0.9, epsilon: float = 1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = fraction(rho, "rho")
        self.epsilon = nonnegative(epsilon, "epsilon")

    def transform(self):
        return chain(scale_by_rms(self.rho, self.epsilon),
                     scale_by_learning_rate(self.learning_rate))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015, Algorithm 1):

    $$m \leftarrow \beta_1 m + (1 - \beta_1) g; \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2$$
    $$W \leftarrow W - \alpha \frac{\hat m}{\sqrt{\hat v} + \epsilon}, \qquad
      \hat m = \frac{m}{1 - \beta_1^t}, \quad \hat v = \frac{v}{1 - \beta_2^t}$$

    ``amsgrad=True`` (Reddi et al. 2018) divides by the running maximum of $v$ instead of
    $v$ (bias-corrected the same way).  ``epsilon_hat=True`` is the paper's "efficient"
    form (section 2, as scikit-learn and the first Keras write it): the corrections go
    into the step, $\alpha_t = \alpha \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)$, and
    epsilon is added to $\sqrt{v}$ rather than to $\sqrt{\hat v}$.  Keras's defaults:
    $\alpha$ 0.001, betas 0.9 / 0.999, epsilon 1e-7.
    ``chain(scale_by_adam(...), scale_by_learning_rate(alpha))``.
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, epsilon_hat: bool = False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.epsilon_hat = bool(epsilon_hat)
        self.beta_1 = fraction(beta_1, "beta_1")
        self.beta_2 = fraction(beta_2, "beta_2")
        self.epsilon = nonnegative(epsilon, "epsilon")
        self.amsgrad = bool(amsgrad)

    def direction(self):
        """Adam's direction, before the learning rate."""
        return scale_by_adam(self.beta_1, self.beta_2, self.epsilon, self.amsgrad,
                             self.epsilon_hat)

    def transform(self):
        return chain(self.direction(), scale_by_learning_rate(self.learning_rate))

    def get_config(self):
        config = {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                  "epsilon": self.epsilon, "amsgrad": self.amsgrad}
        return {**config, "epsilon_hat": True} if self.epsilon_hat else config


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019, Algorithm 2): Adam with the weight decay
    decoupled from the adaptive step:

    $$W \leftarrow W - \alpha \left(\frac{\hat m}{\sqrt{\hat v} + \epsilon}
      + \lambda W\right)$$

    i.e. ``chain(scale_by_adam(...), add_decayed_weights(lambda),
    scale_by_learning_rate(alpha))``, $\lambda$ = ``weight_decay`` (PyTorch's and Keras's
    name and default 0.01 for ``torch.optim.AdamW``; Keras 3's default is 0.004), scaled
    by the learning rate as both do.  PyTorch's AdamW adds epsilon to $\sqrt{\hat v}$, as
    here; Keras 3's adds it to $\sqrt{v}$: ``epsilon_hat=True`` (see :class:`Adam`) is
    Keras's form (both tested, to rounding).
    """

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.01, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, **kwargs)
        self.weight_decay = nonnegative(weight_decay, "weight_decay")

    def transform(self):
        return chain(self.direction(), add_decayed_weights(self.weight_decay),
                     scale_by_learning_rate(self.learning_rate))

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class Nadam(Adam):
    r"""Nadam (Dozat 2016): Adam with Nesterov momentum and the momentum schedule
    $\mu_t = \beta_1 (1 - \frac12 0.96^{0.004 t})$:

    $$\hat m = \frac{\mu_{t+1} m}{1 - \prod_{i \le t+1} \mu_i}
      + \frac{(1 - \mu_t) g}{1 - \prod_{i \le t} \mu_i}; \qquad
      \hat v = \frac{v}{1 - \beta_2^t}; \qquad
      W \leftarrow W - \alpha \frac{\hat m}{\sqrt{\hat v} + \epsilon}$$

    ``chain(scale_by_nadam(...), scale_by_learning_rate(alpha))``; the product of the
    $\mu_i$ is saved with the state.
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs):
        if kwargs.get("epsilon_hat"):
            raise ValueError("Nadam: epsilon_hat=True is Adam's form only; got "
                             "epsilon_hat=True")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad=False, **kwargs)

    def direction(self):
        return scale_by_nadam(self.beta_1, self.beta_2, self.epsilon)

    def get_config(self):
        config = super().get_config()
        del config["amsgrad"]
        return config
