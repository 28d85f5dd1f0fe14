"""The Tensor and the reverse-mode sweep.

A :class:`Tensor` wraps an ndarray.  When an op is applied to tensors that require a
gradient, its output remembers its parents and a *vector-Jacobian product* (VJP): a
function that, given dL/d(output), returns dL/d(parent) for each parent.  ``backward``
orders the graph topologically and applies the VJPs from the output back to the
leaves, summing the contributions that reach a tensor along different paths (the chain
rule of backpropagation, Rumelhart, Hinton & Williams 1986, done once for every model).

The ops themselves live in :mod:`nnlearn.autograd.ops`; the methods and Python
operators of ``Tensor`` call them.
"""

from __future__ import annotations

import heapq
import itertools
import threading

import numpy as np

from ..backend import as_float_array

__all__ = ["Tensor", "as_tensor", "grad", "no_grad", "enable_grad", "is_grad_enabled"]


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad`."""
    return _grad_mode.enabled


class no_grad:
    """Context manager (and decorator) in which ops build no graph.

    Use it for inference and for in-place parameter updates::

        with nl.no_grad():
            y = model(x)          # no graph, no memory kept for backward
    """

    _enabled = False

    def __enter__(self):
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self._enabled

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Context manager that turns graph building back on inside :class:`no_grad`."""

    _enabled = True


class Tensor:
    """An ndarray that can record the ops applied to it, for reverse-mode gradients.

    Parameters
    ----------
    data : number, sequence of numbers, ndarray or Tensor
        Copied.  Floating arrays keep their dtype; Python numbers, lists and integer
        arrays become float32 (see :mod:`nnlearn.backend`).
    requires_grad : bool
        Whether ``backward`` should compute a gradient for this tensor.
    dtype : dtype, optional
        Floating dtype to use instead of the policy.

    Attributes
    ----------
    data : ndarray
        The values; writable, so that optimizers can update it in place.
    grad : ndarray or None
        The gradient accumulated by :meth:`backward` (same shape and dtype as ``data``).
    requires_grad : bool
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_vjp", "_op", "_seq",
                 "__weakref__")
    # NumPy defers to Tensor's reflected operators (ndarray + Tensor -> Tensor).
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = as_float_array(data, dtype=dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._vjp = None
        self._op = None
        self._seq = next(_creation_order)

    # -- construction used by the ops (no conversion, no copy) ---------------------------
    @classmethod
    def _make(cls, data: np.ndarray, parents: tuple, vjp, op: str) -> "Tensor":
        """The output of an op: records ``parents`` and ``vjp`` when a gradient is needed.

        ``vjp(g)`` receives dL/d(output) and returns one gradient (or None) per parent.
        """
        out = object.__new__(cls)
        out.data = data
        out.grad = None
        out._op = op
        out._seq = next(_creation_order)
        out.requires_grad = False
        out._parents = ()
        out._vjp = None
        if _grad_mode.enabled:
            for p in parents:
                if p.requires_grad:
                    out.requires_grad = True
                    out._parents = parents
                    out._vjp = vjp
                    break
        return out

    # -- array-like attributes -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The shape of the array."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by an op."""
        return self._vjp is None

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shares memory with the tensor)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; got shape {self.shape}")
        return self.data.item()

    def __float__(self) -> float:
        """``float(loss)``: the value of a one-element tensor."""
        if self.data.size != 1:
            raise TypeError(f"float() needs a tensor with one element; got shape {self.shape}")
        return float(self.data.item())

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, outside the graph."""
        return Tensor._make(self.data, (), None, "detach")

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}" if self.dtype != np.float32 else ""
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def __bool__(self) -> bool:
        return bool(self.data)

    __hash__ = object.__hash__

    # -- differentiation -----------------------------------------------------------------
    def backward(self, gradient=None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires it.

        Parameters
        ----------
        gradient : array-like, optional
            dL/d(self), needed when ``self`` is not a scalar (the vector in the
            vector-Jacobian product).  Defaults to 1 for a one-element tensor.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: none of the "
                "tensors it was computed from has requires_grad=True (or it was computed "
                "inside no_grad())"
            )
        seed = seed_gradient(self, gradient)
        leaves, _ = backpropagate(self, seed)
        handed = set()
        for leaf, g in leaves:
            g = _owned(g, leaf.data.dtype, seed, handed)
            if leaf.grad is None:
                leaf.grad = g
            else:
                leaf.grad += g

    # -- Python operators (implemented in ops.py) ---------------------------------------
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # Comparisons give boolean tensors and carry no gradient.
    def __eq__(self, other):
        return Tensor._make(self.data == _data(other), (), None, "eq")

    def __ne__(self, other):
        return Tensor._make(self.data != _data(other), (), None, "ne")

    def __lt__(self, other):
        return Tensor._make(self.data < _data(other), (), None, "lt")

    def __le__(self, other):
        return Tensor._make(self.data <= _data(other), (), None, "le")

    def __gt__(self, other):
        return Tensor._make(self.data > _data(other), (), None, "gt")

    def __ge__(self, other):
        return Tensor._make(self.data >= _data(other), (), None, "ge")

    # -- methods (shape ops, reductions, elementwise functions) ----------------------------
    @property
    def T(self) -> "Tensor":
        """The transpose (axes reversed)."""
        return ops.transpose(self)

    def transpose(self, *axes):
        """See :func:`nnlearn.transpose`."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return ops.transpose(self, axes or None)

    def reshape(self, *shape):
        """See :func:`nnlearn.reshape`."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return ops.reshape(self, tuple(shape))

    def sum(self, axis=None, keepdims=False):
        """See :func:`nnlearn.sum`."""
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        """See :func:`nnlearn.mean`."""
        return ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        """See :func:`nnlearn.max`."""
        return ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        """See :func:`nnlearn.min`."""
        return ops.min(self, axis, keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        """See :func:`nnlearn.logsumexp`."""
        return ops.logsumexp(self, axis, keepdims)

    def softmax(self, axis=-1):
        """See :func:`nnlearn.softmax`."""
        return ops.softmax(self, axis)

    def log_softmax(self, axis=-1):
        """See :func:`nnlearn.log_softmax`."""
        return ops.log_softmax(self, axis)

    def exp(self):
        """See :func:`nnlearn.exp`."""
        return ops.exp(self)

    def log(self):
        """See :func:`nnlearn.log`."""
        return ops.log(self)

    def sqrt(self):
        """See :func:`nnlearn.sqrt`."""
        return ops.sqrt(self)

    def abs(self):
        """See :func:`nnlearn.abs`."""
        return ops.abs(self)

    def sign(self):
        """See :func:`nnlearn.sign`."""
        return ops.sign(self)

    def tanh(self):
        """See :func:`nnlearn.tanh`."""
        return ops.tanh(self)

    def sigmoid(self):
        """See :func:`nnlearn.sigmoid`."""
        return ops.sigmoid(self)

    def relu(self):
        """See :func:`nnlearn.relu`."""
        return ops.relu(self)

    def softplus(self):
        """See :func:`nnlearn.softplus`."""
        return ops.softplus(self)

    def clip(self, min=None, max=None):
        """See :func:`nnlearn.clip`."""
        return ops.clip(self, min, max)


def as_tensor(x, dtype=None) -> Tensor:
    """``x`` itself if it is a Tensor, else a constant Tensor sharing the array's memory
    when its dtype already fits (like ``torch.as_tensor``); the dtype policy otherwise."""
    if isinstance(x, Tensor):
        return x
    return Tensor._make(as_float_array(x, dtype=dtype, copy=False), (), None, "constant")


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _owned(g: np.ndarray, dtype, seed: np.ndarray, handed: set) -> np.ndarray:
    """A gradient the caller may keep and update in place: ``g`` cast to ``dtype``, or
    copied where it is a view, the caller's own ``seed`` or an array already handed out
    (a VJP may hand one array to several parents); its id is added to ``handed``."""
    if g.dtype != dtype:
        g = g.astype(dtype)
    elif g.base is not None or g is seed or id(g) in handed:
        g = g.copy()
    handed.add(id(g))
    return g


def seed_gradient(output: Tensor, gradient, caller: str = "backward()") -> np.ndarray:
    """The gradient backpropagation starts from: ``gradient`` checked against the
    output's shape, or 1 for a scalar output (``caller``: the function the user called,
    for the error message)."""
    if gradient is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"{caller} without a gradient needs a scalar output; got shape "
                f"{output.shape}. Reduce it first (e.g. .sum() or .mean()) or pass "
                f"gradient= with shape {output.shape}"
            )
        # the 1 as an array of the output's rank (its size is 1): np.array makes it in
        # a fifth of np.ones's time, which is most of a tiny graph's seed
        return np.array(1, output.dtype, ndmin=output.ndim)
    g = np.asarray(_data(gradient), dtype=output.dtype)
    if g.shape != output.shape:
        raise ValueError(f"gradient must have the output's shape {output.shape}; got {g.shape}")
    return g


# Every tensor gets the next number at creation.  An op's output is created after its
# inputs, so sweeping nodes from the highest number down visits each node after every
# node that consumes it: a topological order, found without a separate sort.
_creation_order = itertools.count()


def backpropagate(root: Tensor, seed: np.ndarray, wanted=None):
    """Apply the VJPs from ``root`` back through the graph, newest node first.

    Returns ``(leaves, found)``: the pairs ``(leaf, gradient)`` of the leaves reached, and
    ``{id(t): gradient}`` for the tensors whose ids are in ``wanted``.  Leaves (tensors
    made by the user, with no VJP) never enter the heap: their gradients are summed as
    they arrive.
    """
    if root._vjp is None:
        found = {id(root): seed} if wanted and id(root) in wanted else {}
        return [(root, seed)], found
    grads = {root._seq: seed}
    frontier = [(-root._seq, root)]  # a heap: the newest pending node comes out first
    leaves, found = {}, {}  # leaves: id -> [leaf, gradient]; they have no VJP to apply
    pop, push = heapq.heappop, heapq.heappush
    while frontier:
        node = pop(frontier)[1]
        g = grads.pop(node._seq)
        if wanted and id(node) in wanted:
            found[id(node)] = g
        for parent, pg in zip(node._parents, node._vjp(g)):
            if pg is None or not parent.requires_grad:
                continue
            # Never add in place: a VJP may hand the same array to several parents.
            if parent._vjp is None:
                entry = leaves.get(id(parent))
                if entry is None:
                    leaves[id(parent)] = [parent, pg]
                else:
                    entry[1] = entry[1] + pg
                continue
            key = parent._seq
            previous = grads.get(key)
            if previous is None:
                grads[key] = pg
                push(frontier, (-key, parent))
            else:
                grads[key] = previous + pg
    if wanted:
        found.update((key, g) for key, (_, g) in leaves.items() if key in wanted)
    return leaves.values(), found


def grad(output: Tensor, inputs, gradient=None, allow_unused: bool = False) -> list:
    """Gradients of ``output`` with respect to each of ``inputs``, as a list (Theano's
    ``T.grad(cost, [a, b])``).

    ``.grad`` of the inputs is left unchanged.  Inputs may be leaves or intermediate
    tensors of the graph.

    Parameters
    ----------
    output : Tensor
        A scalar, or any shape when ``gradient`` (dL/d(output)) is given.
    inputs : Tensor or sequence of Tensor
    allow_unused : bool
        If False (default), an input that ``output`` does not depend on is an error;
        if True, its gradient is zeros.

    Returns
    -------
    list of ndarray, one per input, each with the input's shape and dtype.
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if not isinstance(output, Tensor):
        raise TypeError(f"grad: output must be a Tensor; got {type(output).__name__}")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{i}] must be a Tensor; got {type(t).__name__}")
        if not t.requires_grad:
            raise ValueError(f"grad: inputs[{i}] does not require grad (shape {t.shape})")
    if not output.requires_grad:
        raise RuntimeError("grad: output does not depend on any tensor that requires grad")
    seed = seed_gradient(output, gradient, "grad()")
    _, found = backpropagate(output, seed, wanted={id(t) for t in inputs})
    result, handed = [], set()
    for i, t in enumerate(inputs):
        g = found.get(id(t))
        if g is None:
            if not allow_unused:
                raise ValueError(
                    f"grad: output does not depend on inputs[{i}] (shape {t.shape}); "
                    "pass allow_unused=True to get zeros"
                )
            g = np.zeros_like(t.data)
        else:
            g = _owned(g, t.dtype, seed, handed)
        result.append(g)
    return result


from . import ops  # noqa: E402  (ops imports Tensor; the methods above call ops lazily)
