"""The forward and backward pass of a stack of Dense layers as one compiled function.

At every step the engine builds a graph of the forward pass and walks it back
(:mod:`nnlearn.autograd`).  For a small network that bookkeeping *is* the step: XOR's
2-2-1 network spends about 75 us per step in Python while its arithmetic takes well
under a microsecond.  For the multilayer perceptron of the course, a
:class:`~nnlearn.models.Sequential` made only of :class:`~nnlearn.layers.Dense` layers,
this module computes the loss and the gradients of a batch in one function compiled by
numba (the ``fast`` extra):

* forward, layer by layer (Rumelhart, Hinton & Williams 1986)::

      z_l = h_(l-1) W_l + b_l,      h_l = g_l(z_l)         (g: linear, relu, sigmoid, tanh)

* the loss on the last pre-activation z through its *link* f, with the gradient every
  matching pair of output and loss shares (the canonical links of generalized linear
  models, McCullagh & Nelder 1989)::

      softmax + cross-entropy         dL/dz = c (softmax(z) sum_k t_k - t)
      sigmoid + binary cross-entropy  dL/dz = c (sigmoid(z) - t)
      identity + squared error        dL/dz = c (z - t)

  with c the loss's scale (1/n for a mean over n samples, 2/(nk) for the mean squared
  error over k outputs, ...), plus an optional penalty ``penalty / n * sum ||W_l||^2``
  (scikit-learn's alpha);
* back, layer by layer: dW_l = h_(l-1)^T delta_l, db_l = sum_i delta_l,
  delta_(l-1) = (delta_l W_l^T) * g'_(l-1), each g' read from the layer's output.

The gradients land in each parameter's ``.grad`` and the optimizer updates as after the
engine's backward pass.  The matrix products are BLAS's: NumPy's own OpenBLAS called
directly (:func:`numpy_gemm`), else numba's ``np.dot`` (SciPy's BLAS); the rest are
loops over the elements, compiled once and cached on disk.  The results equal the
engine's to rounding (sums run in another order); ``tests/test_compiled.py`` compares
them on every supported combination.

:meth:`Model.train_step <nnlearn.models.Model.train_step>` uses it whenever it applies
(:func:`reason_not_compiled` says why not, otherwise): the kernels' backend is numba
(:mod:`nnlearn.kernels`; ``NNLEARN_KERNELS=numpy`` turns this off too), NumPy's own
BLAS is reachable or SciPy installed, the batch is a matrix (one axis per sample), and
the model is Dense layers with linear, relu, sigmoid or tanh hidden activations, biases
and no regularizer, ending in one of the pairs above
(:meth:`~nnlearn.models.Model.compiled_head`).  Large batches through sigmoid or tanh
layers stay on the engine, whose vectorized NumPy functions are faster there (see
:func:`compiled_gradients`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import weakref

import numpy as np

from . import kernels
from . import layers as layers_module
from . import activations, optimizers

__all__ = ["Head", "compiled_gradients", "reason_not_compiled", "unavailable", "disabled",
           "forget"]

HIDDEN_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")
_ACTIVATION_CODE = {name: code for code, name in enumerate(HIDDEN_ACTIVATIONS)}
LINKS = ("softmax", "sigmoid", "identity")


class Head:
    """How the loss reads the last layer's pre-activation z: its ``link`` f (one of
    :data:`LINKS`), ``loss = value_scale / n * sum of the per-element losses +
    penalty / n * sum_l ||W_l||^2`` and ``dL/dz = grad_scale / n * (f(z) - t)`` (softmax:
    ``f(z) sum_k t_k - t``); the per-element losses are the cross-entropies of the link
    and the squared error of the identity.  ``targets(y)`` gives the targets of a batch
    as ``(rows, None)`` (an (n, k) array) or ``(None, labels)`` (class indices)."""

    def __init__(self, link: str, value_scale: float, grad_scale: float, targets,
                 penalty: float = 0.0):
        if link not in LINKS:
            raise ValueError(f"Head: link must be one of {LINKS}; got {link!r}")
        self.link, self.value_scale, self.grad_scale = link, value_scale, grad_scale
        self.targets, self.penalty = targets, penalty


def keras_head(loss, output_activation: str | None, units: int) -> Head | None:
    """The Head of a Keras loss after an output activation, or None when the pair has
    none: softmax with (sparse) categorical cross-entropy, sigmoid with binary
    cross-entropy (averaged over the k outputs) and linear with the mean squared error
    (over the k outputs)."""
    from . import losses

    kind = type(loss)
    if kind in (losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy) \
            and not loss.from_logits and output_activation == "softmax":
        sparse = kind is losses.SparseCategoricalCrossentropy
        return Head("softmax", 1.0, 1.0, _class_labels if sparse else _rows(units))
    if kind is losses.BinaryCrossentropy and not loss.from_logits \
            and output_activation == "sigmoid":
        return Head("sigmoid", 1.0 / units, 1.0 / units, _rows(units))
    if kind is losses.MeanSquaredError and output_activation == "linear":
        return Head("identity", 1.0 / units, 2.0 / units, _rows(units))
    return None


def _class_labels(y):
    y = np.asarray(y).reshape(len(y))
    labels = y.astype(np.intp, copy=False)
    if y.dtype.kind == "f" and not np.array_equal(labels, y):
        bad = y[labels != y][0]
        raise ValueError(f"y must hold integer class labels for "
                         f"sparse_categorical_crossentropy; got {bad}")
    return None, labels


def _rows(units: int):
    return lambda y: (np.asarray(y).reshape(len(y), units), None)


@functools.lru_cache(maxsize=1)
def _scipy_importable() -> bool:
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls BLAS through it)
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def numpy_gemm(dtype):
    """NumPy's own BLAS gemm for ``dtype`` (float32 or float64) as a ctypes function,
    or None.  NumPy's wheels bundle an OpenBLAS with 64-bit integers
    (``numpy.libs/libscipy_openblas64_*``, CBLAS ``scipy_cblas_[sd]gemm64_``); the
    compiled step calls it so that its products run on the same BLAS threads as
    NumPy's own (numba's np.dot would use SciPy's, a second pool whose spinning
    threads and NumPy's take the cores from each other).  None for other builds of
    NumPy: the step then uses np.dot."""
    import ctypes
    import glob
    import os

    folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    libraries = sorted(glob.glob(os.path.join(folder, "libscipy_openblas64_*")))
    if not libraries:
        return None
    letter, real = {"float32": ("s", ctypes.c_float),
                    "float64": ("d", ctypes.c_double)}[np.dtype(dtype).name]
    try:
        function = getattr(ctypes.CDLL(libraries[0]), f"scipy_cblas_{letter}gemm64_")
    except (OSError, AttributeError):
        return None
    integer, pointer = ctypes.c_int64, ctypes.c_void_p
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer,
                         real, pointer, integer, pointer, integer, real, pointer, integer]
    function.restype = None
    return function


def _dense_layers(model):
    """The model's layers but its Input layers (Dense layers, if it is a stack of them)."""
    return [layer for layer in model.layers if not isinstance(layer, layers_module.Input)]


_enabled = contextvars.ContextVar("nnlearn_compiled", default=True)


@contextlib.contextmanager
def disabled():
    """``with disabled():`` computes every gradient on the engine in the block (in this
    thread or task), e.g. to compare the two."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


def unavailable() -> str | None:
    """Why no model's step can run compiled here (numba or SciPy missing, the NumPy
    kernels chosen, :func:`disabled`); None when a Dense stack's can."""
    if not _enabled.get():
        return "turned off by nnlearn.compiled.disabled()"
    if kernels.backend() != "numba":
        if "numba" not in kernels.available_backends():
            return "numba is not installed (the fast extra)"
        return "the kernels run on NumPy (NNLEARN_KERNELS=numpy or kernels.use('numpy'))"
    if numpy_gemm(np.float64) is None and not _scipy_importable():
        return ("SciPy is not installed (numba's matrix product needs it with this build "
                "of NumPy)")
    return None


def reason_not_compiled(model) -> str | None:
    """Why :meth:`Model.train_step` runs ``model``'s step on the engine rather than
    compiled (see the module); None when it runs compiled."""
    reason = unavailable()
    if reason:
        return reason
    if np.dtype(model.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        return f"the model computes in {np.dtype(model.dtype)} (float32 and float64 compile)"
    if not model.built:
        return "the model is not built yet (its first batch builds it)"
    layers = _dense_layers(model)
    if not layers or any(type(layer) is not layers_module.Dense for layer in layers):
        return "the model is not a stack of Dense layers"
    for i, layer in enumerate(layers, 1):
        if not layer.use_bias or layer.kernel_regularizer is not None:
            return f"Dense layer {i} has no bias or has a regularizer"
        if i < len(layers) and \
                activations.registered_name(layer.activation) not in HIDDEN_ACTIVATIONS:
            return f"Dense layer {i}'s activation is not one of {HIDDEN_ACTIVATIONS}"
    if model.compiled_head() is None:
        return ("the loss and output activation are not softmax + cross-entropy, sigmoid + "
                "binary cross-entropy or linear + mean squared error")
    return None


class CompiledGradients:
    """``gradients(x, y) -> (loss, outputs)``: the loss of a batch (with the penalty)
    and the model's outputs, each parameter's ``.grad`` set, as the engine's forward and
    backward pass would (see the module)."""

    def __init__(self, model):
        self.layers = _dense_layers(model)
        self.dtype = np.dtype(model.dtype)
        self.codes = tuple(_ACTIVATION_CODE[activations.registered_name(layer.activation)]
                           for layer in self.layers[:-1]) + (0,)
        self.head = model.compiled_head()
        self.link = LINKS.index(self.head.link)
        self._no_rows = np.empty((0, 0), self.dtype)
        self._no_labels = np.empty(0, np.intp)
        self._one, self._scales = self.dtype.type(1), {}
        self.reuse, self._last = False, None
        from . import _compiled_dense  # imports numba

        self._gradients = _compiled_dense.gradients
        # Products too small for BLAS to start its threads (below 65,536 multiply-adds,
        # OpenBLAS's threshold) skip the ctypes call, whose argument costs numba about
        # 1 us per step to type (a tenth of the XOR step): np.dot when SciPy is there.
        self._gemm = numpy_gemm(self.dtype)
        self._small_gemm = None if _scipy_importable() else self._gemm
        self._largest_kernel = max(layer.kernel.size for layer in self.layers)
        transcendental = [layer.units for layer, code in zip(self.layers, self.codes)
                          if code in (_ACTIVATION_CODE["sigmoid"], _ACTIVATION_CODE["tanh"])]
        if self.head.link != "identity":
            transcendental.append(self.layers[-1].units)
        # Batches larger than this run on the engine (chosen by measurement): numba's
        # tanh and exp are scalar calls to the C library, about 5 ns per element (float32,
        # AVX-512 Xeon) where NumPy's vectorized tanh takes 0.3 ns, while the engine costs
        # about 10 us of Python per layer; past ~2,000 such elements per layer the engine
        # is faster.
        self.largest_batch = (2000 * len(self.layers)) // max(sum(transcendental), 1)

    def __call__(self, x, y):
        dtype, head, n = self.dtype, self.head, len(x)
        x = np.ascontiguousarray(x, dtype)
        rows, labels = head.targets(y)
        targets = rows if labels is None else labels
        if len(targets) != n:  # the compiled loops do not check their indices
            raise ValueError(f"x and y must have the same number of samples; got {n} and "
                             f"{len(targets)}")
        rows = self._no_rows if rows is None else np.ascontiguousarray(rows, dtype)
        labels = self._no_labels if labels is None else labels
        layers = self.layers  # their parameters now (a model built again has new ones)
        weights = tuple([layer.kernel.data for layer in layers])
        biases = tuple([layer.bias.data for layer in layers])
        kernel_grads, bias_grads = self._gradient_arrays(weights, biases)
        scale, decay = self._scales.get(n) or self._scales_for(n)
        if x.shape[1] != weights[0].shape[0]:
            raise ValueError(f"x: expected samples of shape ({weights[0].shape[0]},); got "
                             f"{x.shape[1:]}")
        try:
            losses, penalty, outputs = self._gradients(
                x, rows, labels, weights, biases, self.codes, self.link, scale,
                head.penalty / n, decay, self._one, kernel_grads, bias_grads,
                self._gemm if n * self._largest_kernel >= 65_536 else self._small_gemm)
        except ValueError:
            units = weights[-1].shape[1]
            if labels.size and (labels.min() < 0 or labels.max() >= units):
                raise ValueError(f"y: class labels must lie in [0, {units}) for the output "
                                 f"layer of {units} units; got values from {labels.min()} "
                                 f"to {labels.max()}") from None
            raise
        for layer, kernel_grad, bias_grad in zip(layers, kernel_grads, bias_grads):
            layer.kernel.grad, layer.bias.grad = kernel_grad, bias_grad
        return float(self._one * (losses * head.value_scale / n + penalty)), outputs

    def _gradient_arrays(self, weights, biases):
        """Arrays for the gradients: new ones, as the engine's, unless ``reuse`` (set by
        :func:`compiled_gradients` for optimizers that evaluate the gradient once per
        step and are done with it), then the last step's."""
        last = self._last
        if self.reuse and last is not None and len(last[0]) == len(weights) and all(
                [a is b for a, b in zip(last[0] + last[1], weights + biases)]):
            return last[2]
        grads = (tuple([np.empty_like(w) for w in weights]),
                 tuple([np.empty_like(b) for b in biases]))
        self._last = (weights, biases, grads) if self.reuse else None
        return grads

    def _scales_for(self, n: int):
        """c = grad_scale / n and the penalty's decay 2 penalty / n, in the dtype."""
        cast = self.dtype.type
        self._scales[n] = cast(self.head.grad_scale / n), cast(2 * self.head.penalty / n)
        return self._scales[n]


_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> (key, gradients)


def forget(model) -> None:
    """Drop ``model``'s cached compiled gradients (after a change of its loss in place)."""
    _cache.pop(model, None)


def compiled_gradients(model, x) -> CompiledGradients | None:
    """The compiled gradients of ``model`` for the batch ``x``, or None when the engine
    computes them: :func:`reason_not_compiled`, samples of more than one axis, or a batch
    with so many sigmoid, tanh and exp evaluations that NumPy's vectorized ones are faster
    (``CompiledGradients.largest_batch``).  Cached per model for its loss, layers and the
    kernels' backend."""
    if np.ndim(x) != 2:
        return None
    key = (model.loss, model.built, len(model.layers), kernels.backend(), _enabled.get())
    cached = _cache.get(model)
    if cached is not None and cached[0] == key:
        gradients = cached[1]
    else:
        gradients = None if reason_not_compiled(model) else CompiledGradients(model)
        _cache[model] = (key, gradients)
    if gradients is None or len(x) > gradients.largest_batch:
        return None
    # an optimizer that evaluates the gradient once per step is done with it by the next
    gradients.reuse = type(model.optimizer).minimize is optimizers.Optimizer.minimize
    return gradients
