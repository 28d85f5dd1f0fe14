r"""Optimizers as composable transforms: the gradient turned into an update by a chain of
small steps, each with its own state (the design of optax, Babuschkin et al. 2020).

A transform keeps one contract::

    state = transform.init(params)                    # its state arrays, step count t = 0
    updates = transform.update(grads, state, params)  # one step: t += 1, state changed in place
    apply_updates(params, updates)                    # W <- W + u

and :func:`chain` makes one transform of several, each receiving the updates of the one
before.  The sign convention is optax's: before :func:`scale_by_learning_rate` an update
$u$ is a descent direction (the gradient, rescaled: Adam's $\hat m / (\sqrt{\hat v} +
\epsilon)$); :func:`scale_by_learning_rate` multiplies it by $-\alpha_t$, after which it
is the step added to the weights.  So Adam is
``chain(scale_by_adam(), scale_by_learning_rate(alpha))`` and AdamW (Loshchilov & Hutter
2019) is ``chain(scale_by_adam(), add_decayed_weights(lambda), scale_by_learning_rate(alpha))``:

$$W \leftarrow W - \alpha_t \left(\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} + \lambda W\right).$$

**Element-wise transforms are lowered onto the kernels.**  Most transforms apply one
formula to every element (:class:`ElementwiseTransform`): each declares its ``rule``, a
function of element values ``rule(u, *state, [w,] *numbers) -> (u, *state)`` written as
its equation, and ``numbers(state, dtype)``, the step's constants.  A chain lowers each run
of consecutive element-wise transforms into one :func:`nnlearn.lowering.loops.fuse` kernel: one
function calling the rules in turn, run as one numba loop (or one NumPy pass over blocks)
that reads and writes every array once, however many transforms the chain has; the
optimizer's last run also adds the update to the weights in the same loop.  Transforms
that need a whole array first (:func:`clip_by_norm`, :func:`clip_by_global_norm`: a norm)
run between the runs, as a pass of their own.

Decaying states (moments, velocities) are flushed to zero below the dtype's smallest
normal number, where a CPU computes about 100 times slower; no step can see the difference.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from .. import schedules
from ..lowering import loops
from ._arguments import nonnegative

__all__ = ["State", "Transform", "ElementwiseTransform", "Chain", "chain", "apply_updates",
           "scale_by_learning_rate", "add_decayed_weights", "clip", "clip_by_norm",
           "clip_by_global_norm", "GradientClipping"]


def _array(p) -> np.ndarray:
    """A parameter's array: a Tensor's ``.data``, or the array itself."""
    return p if isinstance(p, np.ndarray) else p.data


class State:
    """A transform's state: ``count``, the number of steps taken (t after a step);
    ``slots``, one dict per parameter of its state arrays (changed in place); ``scalars``,
    the numbers it keeps across steps (saved with a model, like the arrays)."""

    __slots__ = ("count", "slots", "scalars", "cache", "buffers")

    def __init__(self, slots: list, scalars: dict | None = None, count: int = 0):
        self.count, self.slots, self.scalars = count, slots, dict(scalars or {})
        self.cache = None  # the kernel's groups of arrays (see Chain.descend)
        self.buffers = {}  # work arrays the updates are written to, by transform (not saved)

    def buffer(self, key, i: int, like: np.ndarray) -> np.ndarray:
        """The work array ``i`` of ``key`` (allocated once, of ``like``'s shape and dtype):
        where a transform writes its updates, overwritten at the next step."""
        arrays = self.buffers.setdefault(key, {})
        array = arrays.get(i)
        if array is None or array.shape != like.shape or array.dtype != like.dtype:
            array = arrays[i] = np.empty_like(like)
        return array

    def __repr__(self):
        return f"State(count={self.count}, slots={len(self.slots)} parameters, " \
               f"scalars={self.scalars})"


class Transform:
    """Base class of a transform (see the module): ``init``/``update``, state arrays
    named in ``slots`` (initial values from :meth:`initial_value`), scalars in
    ``scalars``.  A subclass defines :meth:`step`, or is an :class:`ElementwiseTransform`."""

    slots: tuple = ()
    scalars: tuple = ()
    elementwise = False

    def initial_value(self, slot: str) -> float:
        """The value a state array starts at (0 unless the rule says otherwise)."""
        return 0.0

    def initial_scalars(self) -> dict:
        """The scalars' values before the first step."""
        return {}

    def init(self, params) -> State:
        """The state for ``params`` (arrays or Tensors): one array per slot and parameter,
        of the parameter's shape and dtype, and the step count 0."""
        arrays = [_array(p) for p in params]
        return State([{slot: np.full_like(a, self.initial_value(slot)) for slot in self.slots}
                      for a in arrays], self.initial_scalars())

    def update(self, updates, state: State, params=None) -> list:
        """One step: ``updates`` (the gradients, or the previous transform's updates; None
        for a parameter without one) to this transform's updates; counts the step.  The
        updates may be work arrays of the state, overwritten by the next step."""
        state.count += 1
        updates = self.step(list(updates), state, params)
        self.end_step(state)
        return updates

    def step(self, updates: list, state: State, params) -> list:
        """The updates of step ``state.count`` (already counted)."""
        raise NotImplementedError(f"{type(self).__name__} defines no step()")

    def end_step(self, state: State) -> None:
        """After every parameter's update (a transform with scalar state moves it here)."""

    def __repr__(self):
        config = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.startswith("_") and k not in ("rule", "slots"))
        return f"{type(self).__name__}({config})"


class ElementwiseTransform(Transform):
    """A transform that applies one formula to every element: ``rule(u, *state arrays,
    [w if reads_params,] *numbers)`` returns the new u (and the new state values, in the
    order of ``slots``); ``numbers(state, dtype)`` gives the step's constants.  Lowered
    onto :mod:`nnlearn.lowering.loops` (fused with its neighbours in a :class:`Chain`)."""

    elementwise = True
    reads_params = False
    rule = None

    def numbers(self, state: State, dtype) -> tuple:
        """The rule's numbers at step ``state.count`` for arrays of ``dtype``."""
        return ()

    def step(self, updates, state, params):
        return _run((self,), updates, state, params, self.rule)


# -- the lowering: runs of element-wise transforms fused into one kernel ------------------------
_FUSED: dict = {}


def _fused(members: tuple, apply: bool) -> loops.Elementwise:
    """The kernel of consecutive element-wise transforms (cached by their rules): arrays
    ``(out or w, *their state arrays, [w,] g)``, numbers in the members' order.  With
    ``apply`` the first array is w and the kernel writes W + u there."""
    key = (tuple((m.rule, len(m.slots), m.reads_params) for m in members), apply)
    kernel = _FUSED.get(key)
    if kernel is None:
        kernel = _FUSED[key] = _build_fused(members, apply)
    return kernel


def _build_fused(members, apply):
    parts, lines, slot_args, number_args = {}, [], [], []
    for k, member in enumerate(members):
        names = list(inspect.signature(member.rule).parameters)
        own = [f"s{k}_{i}" for i in range(len(member.slots))]
        n_numbers = len(names) - 1 - len(own) - member.reads_params
        if n_numbers < 0:
            raise TypeError(f"{type(member).__name__}.rule takes {len(names)} arguments: too "
                            f"few for u, its {len(own)} state arrays and w")
        numbers = [f"n{k}_{i}" for i in range(n_numbers)]
        slot_args += own
        number_args += numbers
        arguments = ["u", *own, *(["w"] if member.reads_params else []), *numbers]
        lines.append(f"    {', '.join(['u', *own])} = part_{k}({', '.join(arguments)})\n")
        parts[f"part_{k}"] = member.rule
    reads = any(m.reads_params for m in members)
    arrays = ["w" if apply else "out", *slot_args, *(["w"] if reads and not apply else []), "g"]
    result = ", ".join(["w + u" if apply else "u", *slot_args])
    source = (f"def element({', '.join(arrays + number_args)}):\n    u = g\n"
              + "".join(lines) + f"    return {result}\n")
    name = "fused_" + "_".join(m.rule.__name__ for m in members) + ("_apply" if apply else "")
    return loops.fuse(name, source, parts, len(arrays), 1 + len(slot_args))


def _numbers(members, state, dtype) -> tuple:
    numbers = ()
    for member in members:
        numbers += member.numbers(state, dtype)
    return numbers


def _run(members, updates, state, params, key) -> list:
    """The updates of a run of element-wise transforms, parameter by parameter, written to
    the state's work arrays of ``key``."""
    kernel = _fused(members, apply=False)
    reads = any(m.reads_params for m in members)
    if reads and params is None:
        raise TypeError(f"{type(members[0]).__name__}: this transform reads the weights: "
                        "pass params to update(grads, state, params)")
    names = [slot for m in members for slot in m.slots]
    numbers_by_dtype, out = {}, []
    for i, u in enumerate(updates):
        if u is None:
            out.append(None)
            continue
        slots = state.slots[i]
        dtype = slots[names[0]].dtype if names else np.asarray(u).dtype
        u = np.asarray(u, dtype)
        numbers = numbers_by_dtype.get(dtype)
        if numbers is None:
            numbers = numbers_by_dtype[dtype] = _numbers(members, state, dtype)
        result = state.buffer(key, i, u)
        kernel(result, *[slots[s] for s in names],
               *([_array(params[i])] if reads else []), u, *numbers)
        out.append(result)
    return out


# -- chain ------------------------------------------------------------------------------------
class Chain(Transform):
    """Transforms applied one after the other (:func:`chain`): each gets the updates of
    the one before; the state is theirs together (their slot and scalar names must differ).
    Consecutive element-wise transforms run as one fused kernel (see the module)."""

    def __init__(self, *transforms):
        flat = []
        for t in transforms:
            if not isinstance(t, Transform):
                raise TypeError(f"chain: every argument must be a Transform; got "
                                f"{type(t).__name__}")
            flat.extend(t.transforms if isinstance(t, Chain) else [t])
        self.transforms = tuple(flat)
        self.slots = tuple(s for t in flat for s in t.slots)
        self.scalars = tuple(s for t in flat for s in t.scalars)
        for kind, names in (("state array", self.slots), ("scalar", self.scalars)):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"chain: two transforms keep a {kind} named "
                                 f"{repeated[0]!r}; a chain's state is theirs together")
        runs = []  # consecutive element-wise transforms together
        for t in flat:
            if t.elementwise and runs and isinstance(runs[-1], tuple):
                runs[-1] = (*runs[-1], t)
            else:
                runs.append((t,) if t.elementwise else t)
        self._runs = runs
        self._enders = [t for t in flat if type(t).end_step is not Transform.end_step]
        last = runs[-1] if runs else None
        self._apply_kernel = _fused(last, apply=True) if isinstance(last, tuple) else None
        self._one_kernel = len(runs) == 1 and self._apply_kernel is not None

    def initial_scalars(self):
        return {k: v for t in self.transforms for k, v in t.initial_scalars().items()}

    def init(self, params):
        params = list(params)
        states = [t.init(params) for t in self.transforms]
        slots = [{k: v for s in states for k, v in s.slots[i].items()}
                 for i in range(len(params))]
        return State(slots, self.initial_scalars())

    def step(self, updates, state, params):
        for key, run in enumerate(self._runs):
            updates = _run(run, updates, state, params, key) if isinstance(run, tuple) \
                else run.step(updates, state, params)
        return updates

    def end_step(self, state):
        for t in self._enders:
            t.end_step(state)

    def descend(self, params, state: State) -> None:
        """One step in place from every parameter's ``.grad`` (the optimizer's update):
        W <- W + u, the last run of element-wise transforms and the addition in one fused
        kernel over all parameters at once (:meth:`nnlearn.lowering.loops.Elementwise.each`).

        The kernel's groups of arrays ``(w, *state arrays, g)``, by dtype, and what the
        kernel found about them are kept while the parameters and gradients are the same
        arrays (a compiled step reuses its gradient arrays), so the checks run once.  (The
        per-step work is written out here, not in helpers: a tiny network's step costs
        about as much as its Python calls.)"""
        state.count += 1
        if self._one_kernel:
            members, groups, cached = self._runs[0], None, state.cache
            if cached is not None and len(cached[0]) == len(params):
                for (w, g), p in zip(cached[0], params):
                    if w is not p.data or g is not p.grad:
                        break
                else:
                    groups = cached[1]
            if groups is None:
                groups = self._groups(members, params, [p.grad for p in params], state)
        else:
            updates, runs = [p.grad for p in params], self._runs
            if self._apply_kernel is None:
                apply_updates(params, self.step(updates, state, params))
                self._end_step(state)
                return
            for key, run in enumerate(runs[:-1]):
                updates = _run(run, updates, state, params, key) if isinstance(run, tuple) \
                    else run.step(updates, state, params)
            members = runs[-1]
            groups = self._groups(members, params, updates, state)
        kernel = self._apply_kernel
        for entry in groups:
            numbers = ()
            for member in members:
                numbers += member.numbers(state, entry[0])
            entry[2] = kernel.each(entry[1], numbers, entry[2])
        if self._enders:
            self.end_step(state)

    def _end_step(self, state):
        if self._enders:
            self.end_step(state)

    @staticmethod
    def _groups(members, params, gradients, state) -> list:
        """``[[dtype, arrays, fitting]]``: the arrays ``(w, *state arrays, g)`` of every
        parameter with a gradient, by dtype (kept in ``state.cache``, see :meth:`descend`)."""
        cached = state.cache
        if cached is not None and len(cached[0]) == len(params):
            for (w, g), p, grad in zip(cached[0], params, gradients):
                if w is not p.data or g is not grad:
                    break
            else:
                return cached[1]
        names, by_dtype = [slot for m in members for slot in m.slots], {}
        for p, g, slots in zip(params, gradients, state.slots):
            if g is not None:
                by_dtype.setdefault(p.data.dtype, []).append(
                    (p.data, *[slots[s] for s in names], g))
        groups = [[dtype, arrays, None] for dtype, arrays in by_dtype.items()]
        state.cache = ([(p.data, g) for p, g in zip(params, gradients)], groups)
        return groups

    @property
    def runs(self) -> tuple:
        """The transforms in order, each run of consecutive element-wise ones as a tuple
        (one fused kernel), any other on its own."""
        return tuple(self._runs)

    @property
    def fused_kernel(self):
        """The kernel of the chain's last run of element-wise transforms with the
        addition W + u (arrays ``(w, *their state arrays, g)``, then their numbers), or
        None when the chain ends with a transform that is not element-wise."""
        return self._apply_kernel

    def __repr__(self):
        return f"chain({', '.join(map(repr, self.transforms))})"


def chain(*transforms) -> Chain:
    """One transform applying ``transforms`` in order (optax's ``chain``)."""
    return Chain(*transforms)


def apply_updates(params, updates) -> None:
    """W <- W + u for every parameter (arrays or Tensors) with an update, in place."""
    for p, u in zip(params, updates):
        if u is not None:
            w = _array(p)
            w += np.asarray(u, w.dtype)


# -- the learning rate and weight decay -------------------------------------------------------
def _rate(learning_rate, name="learning_rate"):
    if isinstance(learning_rate, schedules.Schedule):
        return learning_rate
    return nonnegative(learning_rate, name)


def _rate_at(learning_rate, count: int) -> float:
    """The rate of step ``count`` (a schedule is evaluated at t - 1, 0 for the first)."""
    return learning_rate if type(learning_rate) is float else float(learning_rate(count - 1))


def rate_step(u, minus_rate):
    return u * minus_rate


class ScaleByLearningRate(ElementwiseTransform):
    r"""$u \leftarrow -\alpha_t u$: a direction made a step (Robbins & Monro 1951's
    $\alpha_t$; a schedule from :mod:`nnlearn.schedules` gives it per step t, evaluated at
    t - 1, 0 for the first)."""

    rule = staticmethod(rate_step)

    def __init__(self, learning_rate):
        self.learning_rate = _rate(learning_rate)

    def numbers(self, state, dtype):
        rate = self.learning_rate  # (inline: one call less per step than _rate_at)
        return (-(rate if type(rate) is float else float(rate(state.count - 1))),)


def scale_by_learning_rate(learning_rate) -> ScaleByLearningRate:
    r"""$u \leftarrow -\alpha_t u$, $\alpha_t$ a number or a schedule
    (:mod:`nnlearn.schedules`)."""
    return ScaleByLearningRate(learning_rate)


def decayed_weights(u, w, weight_decay):
    return u + w * weight_decay


def decayed_weights_step(u, w, minus_rate_times_decay):
    return u + w * minus_rate_times_decay


class AddDecayedWeights(ElementwiseTransform):
    r"""Decoupled weight decay (Loshchilov & Hutter 2019): $u \leftarrow u + \lambda W$,
    before :func:`scale_by_learning_rate` (so that the step is $-\alpha_t(u + \lambda W)$,
    the decay outside the adaptive rescaling and the momentum); or, with ``learning_rate``
    given, on a step (after the rate): $u \leftarrow u - \alpha_t \lambda W$."""

    reads_params = True

    def __init__(self, weight_decay, learning_rate=None):
        self.weight_decay = nonnegative(weight_decay, "weight_decay")
        self.learning_rate = None if learning_rate is None else _rate(learning_rate)
        self.rule = decayed_weights if learning_rate is None else decayed_weights_step

    def numbers(self, state, dtype):
        if self.learning_rate is None:
            return (self.weight_decay,)
        return (-_rate_at(self.learning_rate, state.count) * self.weight_decay,)


def add_decayed_weights(weight_decay, learning_rate=None) -> AddDecayedWeights:
    r"""Decoupled weight decay (Loshchilov & Hutter 2019): $u \leftarrow u + \lambda W$
    (before the learning rate), or $u \leftarrow u - \alpha_t \lambda W$ when
    ``learning_rate`` is given (on a step, after it)."""
    return AddDecayedWeights(weight_decay, learning_rate)


# -- clipping (Pascanu, Mikolov & Bengio 2013) ----------------------------------------------
def clip_values(u, low, high):
    return np.minimum(np.maximum(u, low), high)


class Clip(ElementwiseTransform):
    r"""$u \leftarrow \min(\max(u, -c), c)$: every element clipped to $[-c, c]$
    (Keras's ``clipvalue``)."""

    rule = staticmethod(clip_values)

    def __init__(self, max_value):
        self.max_value = nonnegative(max_value, "max_value")

    def numbers(self, state, dtype):
        return (-self.max_value, self.max_value)


def clip(max_value) -> Clip:
    """Every element of the update clipped to [-max_value, max_value]."""
    return Clip(max_value)


def _norm(u) -> float:
    return float(np.sqrt(np.vdot(u, u)))


class ClipByNorm(Transform):
    r"""$u \leftarrow u \, c / \lVert u \rVert_2$ when $\lVert u \rVert_2 > c$, each
    parameter's update on its own (Keras's ``clipnorm``; Pascanu, Mikolov & Bengio 2013)."""

    def __init__(self, max_norm):
        self.max_norm = nonnegative(max_norm, "max_norm")

    def step(self, updates, state, params):
        out, buffers = list(updates), state.buffers.setdefault("clip_by_norm", {})
        for i, u in enumerate(updates):
            if u is not None:
                norm = float(np.sqrt(np.vdot(u, u)))
                if norm > self.max_norm:
                    buffer = buffers.get(i)  # the clipped update's work array
                    if buffer is None or buffer.shape != u.shape or buffer.dtype != u.dtype:
                        buffer = buffers[i] = np.empty_like(u)
                    out[i] = np.multiply(u, self.max_norm / norm, out=buffer)
        return out


def clip_by_norm(max_norm) -> ClipByNorm:
    """Each parameter's update rescaled to L2 norm ``max_norm`` when longer."""
    return ClipByNorm(max_norm)


class ClipByGlobalNorm(Transform):
    r"""$u_i \leftarrow u_i \, c / \lVert u \rVert_2$ for every parameter i when the norm of
    all the updates together, $\lVert u \rVert_2 = (\sum_i \lVert u_i \rVert_2^2)^{1/2}$,
    exceeds $c$ (Pascanu, Mikolov & Bengio 2013; Keras's ``global_clipnorm``): the
    direction of the whole update kept."""

    def __init__(self, max_norm):
        self.max_norm = nonnegative(max_norm, "max_norm")

    def step(self, updates, state, params):
        norm = math.sqrt(sum(float(np.vdot(u, u)) for u in updates if u is not None))
        if norm <= self.max_norm:
            return updates
        factor = self.max_norm / norm
        return [None if u is None else
                np.multiply(u, factor, out=state.buffer("clip_by_global_norm", i, u))
                for i, u in enumerate(updates)]


def clip_by_global_norm(max_norm) -> ClipByGlobalNorm:
    """All the updates rescaled together to global L2 norm ``max_norm`` when longer."""
    return ClipByGlobalNorm(max_norm)


class GradientClipping:
    """Keras's clipping arguments as one callable (what ``Optimizer.clipping`` holds):
    first each element to [-clipvalue, clipvalue], then the whole array to L2 norm
    ``clipnorm``: g <- g * clipnorm / ||g|| when ||g|| > clipnorm (Pascanu, Mikolov &
    Bengio 2013).  In a chain these are :func:`clip` and :func:`clip_by_norm`
    (:meth:`transforms`)."""

    def __init__(self, clipnorm=None, clipvalue=None):
        self.clipnorm = None if clipnorm is None else nonnegative(clipnorm, "clipnorm")
        self.clipvalue = None if clipvalue is None else nonnegative(clipvalue, "clipvalue")

    def __call__(self, g: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The clipped gradient, written to ``out`` when it differs from ``g``."""
        if self.clipvalue is not None:
            g = np.clip(g, -self.clipvalue, self.clipvalue, out=out)
        if self.clipnorm is not None:
            norm = _norm(g)
            if norm > self.clipnorm:
                g = np.multiply(g, self.clipnorm / norm, out=out)
        return g

    def transforms(self) -> list:
        """The same clipping as transforms, in its order."""
        return [*([clip(self.clipvalue)] if self.clipvalue is not None else []),
                *([clip_by_norm(self.clipnorm)] if self.clipnorm is not None else [])]

    def get_config(self) -> dict:
        """The clipping thresholds that are set."""
        config = {"clipnorm": self.clipnorm, "clipvalue": self.clipvalue}
        return {k: v for k, v in config.items() if v is not None}
