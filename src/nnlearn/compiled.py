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
engine's backward pass.  For the library's optimizers that evaluate the gradient once
per step, the same ``.grad`` arrays are overwritten at every step (the engine makes new
ones): a callback that keeps a gradient between steps should keep a copy.

The matrix products are BLAS's: NumPy's own OpenBLAS called directly
(:func:`numpy_gemm`), else numba's ``np.dot`` (SciPy's BLAS); the rest are loops over
the elements, compiled once and cached on disk.  The results equal the engine's to
rounding (sums run in another order); ``tests/test_compiled.py`` compares
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
import operator
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
    (over the k outputs).  Its targets are read and checked by the engine's own rules."""
    from . import losses

    kind = type(loss)
    if kind in (losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy) \
            and not loss.from_logits and output_activation == "softmax":
        sparse = kind is losses.SparseCategoricalCrossentropy
        return Head("softmax", 1.0, 1.0, _class_labels(units) if sparse else _rows(units))
    if kind is losses.BinaryCrossentropy and not loss.from_logits \
            and output_activation == "sigmoid":
        return Head("sigmoid", 1.0 / units, 1.0 / units, _rows(units))
    if kind is losses.MeanSquaredError and output_activation == "linear":
        return Head("identity", 1.0 / units, 2.0 / units, _rows(units))
    return None


def _class_labels(units: int):
    from .losses import class_indices

    return lambda y: (None, class_indices(y, (len(y), units)))


def _rows(units: int):
    from .losses import targets_shaped

    return lambda y: (targets_shaped(y, (len(y), units)), None)


@functools.lru_cache(maxsize=1)
def _scipy_importable() -> bool:
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls BLAS through it)
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def numpy_openblas():
    """The OpenBLAS bundled in NumPy's wheel (``numpy.libs/libscipy_openblas64_*``, its
    symbols prefixed ``scipy_`` and suffixed ``64_``) as a ctypes library, or None for
    other builds of NumPy."""
    import ctypes
    import glob
    import os

    folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    libraries = sorted(glob.glob(os.path.join(folder, "libscipy_openblas64_*")))
    try:
        return ctypes.CDLL(libraries[0]) if libraries else None
    except OSError:
        return None


@functools.lru_cache(maxsize=None)
def numpy_gemm(dtype):
    """NumPy's own BLAS gemm for ``dtype`` (float32 or float64) as a ctypes function,
    or None.  NumPy's wheels bundle an OpenBLAS with 64-bit integers
    (:func:`numpy_openblas`, CBLAS ``scipy_cblas_[sd]gemm64_``); the compiled step
    calls it so that its products run on the same BLAS threads as NumPy's own (numba's
    np.dot would use SciPy's, a second pool whose spinning threads and NumPy's take the
    cores from each other).  None for other builds of NumPy: the step then uses
    np.dot."""
    import ctypes

    library = numpy_openblas()
    letter, real = {"float32": ("s", ctypes.c_float),
                    "float64": ("d", ctypes.c_double)}[np.dtype(dtype).name]
    function = getattr(library, f"scipy_cblas_{letter}gemm64_", None)
    if function is None:
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
    backward pass would (see the module); None, computing nothing, when a layer's kernel
    or bias does not fit the compiled loops (the engine then computes the step)."""

    def __init__(self, model):
        self.layers = _dense_layers(model)
        self._model_layers = list(model.layers)
        self._settings = self._layer_settings()
        self._checked, self._grads = (), None  # see _parameters
        self.dtype = np.dtype(model.dtype)
        self.codes = tuple(_ACTIVATION_CODE[activations.registered_name(layer.activation)]
                           for layer in self.layers[:-1]) + (0,)
        self.head = model.compiled_head()
        self.link = LINKS.index(self.head.link)
        self._no_rows = np.empty((0, 0), self.dtype)
        self._no_labels = np.empty(0, np.intp)
        self._one, self._scales = self.dtype.type(1), {}
        self.reuse = False
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
        parameters = self._parameters()
        if parameters is None:
            return None
        weights, biases, (kernel_grads, bias_grads) = parameters
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
        for layer, kernel_grad, bias_grad in zip(self.layers, kernel_grads, bias_grads):
            layer.kernel.grad, layer.bias.grad = kernel_grad, bias_grad
        return float(self._one * (losses * head.value_scale / n + penalty)), outputs

    def _layer_settings(self) -> list:
        """What the compiled function was made for, layer by layer."""
        return [(layer.activation, layer.use_bias, layer.kernel_regularizer)
                for layer in self.layers]

    def still_fits(self, model) -> bool:
        """Whether the model's layers are still the ones this was made for, with the same
        activations, biases and regularizers (a layer changed in place after the first
        step takes the model back through :func:`reason_not_compiled`)."""
        return model.layers == self._model_layers and self._layer_settings() == self._settings

    def _parameters(self):
        """(kernels, biases, gradient arrays) for this step, or None when a parameter does
        not fit the compiled loops, which do not check their indices: each must be a
        C-ordered array of the model's dtype, the kernels chained in shape (a, b), (b, c),
        ... and each bias as wide as its kernel.  Checked again only when the arrays
        change (a model built again has new ones).  The gradient arrays are new ones, as
        the engine's, unless ``reuse`` (set by :func:`compiled_gradients` for the
        optimizers that evaluate the gradient once per step and are done with it by the
        next), then the last step's."""
        weights = tuple([layer.kernel.data for layer in self.layers])
        biases = tuple([layer.bias.data for layer in self.layers])
        arrays = weights + biases
        checked = self._checked
        if len(checked) != len(arrays) or not all(map(operator.is_, arrays, checked)):
            if not self._fit_the_loops(weights, biases):
                return None
            self._checked, self._grads = arrays, None
        grads = self._grads if self.reuse else None
        if grads is None:
            grads = (tuple([np.empty_like(w) for w in weights]),
                     tuple([np.empty_like(b) for b in biases]))
            self._grads = grads if self.reuse else None
        return weights, biases, grads

    def _fit_the_loops(self, weights, biases) -> bool:
        dtype, width = self.dtype, weights[0].shape[0] if weights[0].ndim == 2 else -1
        for w, b in zip(weights, biases):
            for array in (w, b):
                if type(array) is not np.ndarray or array.dtype != dtype \
                        or not array.flags.c_contiguous:
                    return False
            if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
                return False
            width = w.shape[1]
        return True

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
    if cached is not None and cached[0] == key and (cached[1] is None
                                                    or cached[1].still_fits(model)):
        gradients = cached[1]
    else:
        gradients = None if reason_not_compiled(model) else CompiledGradients(model)
        _cache[model] = (key, gradients)
    if gradients is None or not 0 < len(x) <= gradients.largest_batch:
        return None
    # The library's optimizers that evaluate the gradient once per step are done with it
    # by the next: theirs are reused (an optimizer with its own update might keep them).
    kind = type(model.optimizer)
    gradients.reuse = kind.minimize is optimizers.Optimizer.minimize and \
        kind.update is optimizers.Optimizer.update
    return gradients
