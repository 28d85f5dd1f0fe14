r"""The forward and backward pass of a stack of Dense layers as one compiled function:
a *lowering* of the layers' and the loss's declarations (:mod:`nnlearn.activations`,
:class:`nnlearn.losses.Head`), chosen by :mod:`nnlearn.lowering.planner`.

At every step the engine builds a graph of the forward pass and walks it back
(:mod:`nnlearn.autograd`).  For a small network that bookkeeping *is* the step: XOR's
2-2-1 network spends about 75 us per step in Python while its arithmetic takes well
under a microsecond.  For the multilayer perceptron of the course, a
:class:`~nnlearn.models.Sequential` made only of :class:`~nnlearn.layers.Dense` layers,
this module computes the loss and the gradients of a batch in one function compiled by
numba (the ``fast`` extra):

* forward, layer by layer (Rumelhart, Hinton & Williams 1986):
  :math:`z_l = h_{l-1} W_l + b_l`, :math:`h_l = g_l(z_l)`, each :math:`g_l` any
  element-wise activation of the table, its element rule inlined;
* the loss on the last pre-activation :math:`z` through the loss's canonical link
  :math:`f` (softmax + cross-entropy, sigmoid + binary cross-entropy, identity + squared
  error: :meth:`nnlearn.losses.Loss.head`), with sample weights :math:`w_i`:
  :math:`\partial L/\partial z_i = c\, w_i (f(z_i) - t_i)`, c the loss's scale over
  the reduction's normalizer, plus an optional penalty on the kernels (scikit-learn's
  alpha);
* back, layer by layer: :math:`\partial L/\partial W_l = h_{l-1}^T \delta_l`,
  :math:`\partial L/\partial b_l = \sum_i \delta_{l,i}`,
  :math:`\delta_{l-1} = (\delta_l W_l^T) \odot g'_{l-1}`, each :math:`g'` the
  activation's backward rule (read from the output where it can be).

The loops are generated from the table of activations (:mod:`nnlearn.lowering._dense_template`)
and compiled once into the kernel cache (:func:`nnlearn.lowering.loops.compiled_module`): a new
activation in :mod:`nnlearn.activations` is compiled here with nothing else to change.

The gradients land in each parameter's ``.grad`` and the optimizer updates as after the
engine's backward pass.  For the library's optimizers that evaluate the gradient once
per step, the same ``.grad`` arrays are overwritten at every step (the engine makes new
ones): a callback that keeps a gradient between steps should keep a copy.

The matrix products are BLAS's: NumPy's own OpenBLAS called directly
(:mod:`nnlearn.lowering.blas`), else numba's ``np.dot`` (SciPy's BLAS); the rest are loops over
the elements.  The results equal the engine's to rounding (sums run in another order);
``tests/lowering/test_dense_step.py`` compares them on random stacks of every activation, head,
dtype, optimizer and sample weighting.
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from .. import activations
from . import loops
from .blas import gemm_call, numpy_gemm

__all__ = ["DenseStepGradients", "DenseForward", "activation_code", "step_functions",
           "numpy_gemm"]


def activation_code(activation) -> int | None:
    """The activation's code in the compiled loops (its place among the element-wise
    activations of the table), or None when it has none (a custom function, softmax)."""
    table = activations.elementwise().values()
    return next((code for code, known in enumerate(table) if known is activation), None)


@functools.lru_cache(maxsize=1)
def step_functions():
    """The compiled functions of the step (``gradients`` last), generated from the table
    of activations and compiled into the kernel cache (imports numba)."""
    import numba

    from . import _dense_template, fastmath
    from .. import links
    from ..numerics import numba_lowerings

    numba_lowerings()
    table = activations.elementwise()
    inline = numba.njit(error_model="numpy", inline="always")

    def lower(rule):  # np.maximum/np.minimum of numbers in one comparison; NumPy's exp/tanh
        return inline(fastmath.lowered(rule, approximate=False))

    namespace, rules = {"gemm_call": gemm_call()}, [gemm_call.__wrapped__]
    for code, activation in enumerate(table.values()):
        for kind, rule in (("function", activation.function),
                           ("backward", activation.backward)):
            namespace[f"{kind}_{code}"] = lower(rule)
            rules.append(rule)
    for name, (output, loss) in links.ELEMENTWISE_LINKS.items():
        code = links.CODES[name]
        namespace[f"output_{code}"], namespace[f"loss_{code}"] = lower(output.function), \
            lower(loss)
        rules += [output.function, loss]
    source = _dense_template.source(table, links.ELEMENTWISE_LINKS, links.CODES)
    functions = loops.compiled_module("nnlearn.lowering.dense_step.dense_step", source, namespace,
                                        [*rules, step_functions.__wrapped__,
                                         *fastmath.lowering_sources()],
                                        _dense_template.FUNCTIONS, nogil=True)
    return dict(zip(_dense_template.FUNCTIONS, functions))


@functools.lru_cache(maxsize=1)
def scipy_importable() -> bool:
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls BLAS through it)
    except ImportError:
        return False
    return True


class DenseForward:
    """``forward(x) -> outputs``: the outputs of a stack of Dense layers for a batch, the
    forward part of the compiled step (:func:`nnlearn.lowering._dense_template.forward`; a
    softmax output through the softmax link of its loss head), or None when a layer's
    kernel or bias does not fit the compiled loops (the engine then computes them).
    Made by :func:`nnlearn.lowering.planner.compiled_forward` for ``predict``."""

    def __init__(self, model, layers):
        self.layers = layers
        self._model_layers = list(model.layers)
        self._settings = [layer.activation for layer in layers]
        self.dtype = np.dtype(model.dtype)
        self.softmax = layers[-1].activation is activations.softmax
        last = activations.linear if self.softmax else layers[-1].activation
        self.codes = tuple(activation_code(layer.activation) for layer in layers[:-1]) + \
            (activation_code(last),)
        self._one = self.dtype.type(1)
        self._forward = step_functions()["forward"]
        self._gemm = numpy_gemm(self.dtype)  # None: numba's np.dot (SciPy's BLAS)
        self._checked = ()

    def still_fits(self, model) -> bool:
        """Whether the model's layers and their activations are the ones this was made
        for."""
        return model.layers == self._model_layers and \
            [layer.activation for layer in self.layers] == self._settings

    def __call__(self, x):
        # (np.asarray: a memory-mapped or other ndarray subclass read as a plain array; the
        # forward pass only reads the weights, so a read-only file's serve as they are)
        weights = tuple([np.asarray(layer.kernel.data) for layer in self.layers])
        biases = tuple([np.asarray(layer.bias.data) for layer in self.layers])
        arrays = weights + biases
        if len(self._checked) != len(arrays) or \
                not all(map(operator.is_, arrays, self._checked)):
            if not DenseStepGradients._fit_the_loops(self, weights, biases):
                return None
            self._checked = arrays
        x = np.ascontiguousarray(x, self.dtype)
        if x.ndim != 2 or x.shape[1] != weights[0].shape[0]:
            return None
        try:
            return self._forward(x, weights, biases, self.codes, self.softmax, self._one,
                                 self._gemm)
        except ValueError:  # resized in place: checked again, the engine now
            self._checked = ()
            return None


class DenseStepGradients:
    """``gradients(x, y, sample_weight=None) -> (loss, outputs)``: the loss of a batch
    (with the penalty) and the model's outputs, each parameter's ``.grad`` set, as the
    engine's forward and backward pass would (see the module); None, computing nothing,
    when a layer's kernel or bias does not fit the compiled loops (the engine then
    computes the step).  Made by :mod:`nnlearn.lowering.planner` for ``layers`` (the model's
    Dense layers) and the loss's ``head``."""

    def __init__(self, model, layers, head):
        self.layers = layers
        self._model_layers = list(model.layers)
        self._settings = self._layer_settings()
        self._checked, self._grads = (), None  # see _parameters
        self.dtype = np.dtype(model.dtype)
        linear = activation_code(activations.linear)
        self.codes = tuple(activation_code(layer.activation)
                           for layer in self.layers[:-1]) + (linear,)
        self.head, self.loss = head, model.loss
        self.link = head.LINKS.index(head.link)
        self._no_rows = np.empty((0, 0), self.dtype)
        self._no_labels = np.empty(0, np.intp)
        self._no_weights = np.empty(0, self.dtype)
        self._one, self._scales = self.dtype.type(1), {}
        self.reuse = False
        self._gradients = step_functions()["gradients"]
        self._gemm = numpy_gemm(self.dtype)  # None: numba's np.dot (SciPy's BLAS)
        transcendental = [layer.units for layer in self.layers[:-1]
                          if layer.activation.costly]
        if self.head.link != "identity":
            transcendental.append(self.layers[-1].units)
        # Batches larger than this run on the engine (chosen by measurement): numba's
        # tanh and exp (the rules of the activations declared costly) are scalar calls to
        # the C library, about 5 ns per element (float32,
        # AVX-512 Xeon) where NumPy's vectorized tanh takes 0.3 ns, while the engine costs
        # about 10 us of Python per layer; past ~2,000 such elements per layer the engine
        # is faster.
        self.largest_batch = (2000 * len(self.layers)) // max(sum(transcendental), 1)

    def __call__(self, x, y, sample_weight=None):
        dtype, head, n = self.dtype, self.head, len(x)
        if type(x) is not np.ndarray or x.dtype != dtype:  # checked as the engine does:
            x = np.asarray(x)                               # no complex part dropped,
            if x.dtype.kind not in "biuf":                  # no objects
                raise TypeError(f"x must be numeric; got dtype {x.dtype}")
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
        if sample_weight is None:
            sample_weights = self._no_weights
            scale, decay, normalizer, penalty_n = self._scales.get(n) or \
                self._scales_for(n, None)
        else:
            sample_weights = np.ascontiguousarray(sample_weight, dtype)
            if sample_weights.shape == (n, 1):  # one weight per sample, as a column
                sample_weights = sample_weights.reshape(n)
            if sample_weights.shape != (n,):
                raise ValueError(f"sample_weight: expected shape ({n},); got "
                                 f"{sample_weights.shape}")
            scale, decay, normalizer, penalty_n = self._scales_for(n, sample_weights)
        if x.shape[1] != weights[0].shape[0]:
            raise ValueError(f"x: expected samples of shape ({weights[0].shape[0]},); got "
                             f"{x.shape[1:]}")
        try:
            losses, penalty, outputs = self._gradients(
                x, rows, labels, sample_weights, weights, biases, self.codes, self.link,
                scale, penalty_n, decay, self._one,
                kernel_grads, bias_grads, self._gemm)
        except ValueError as error:
            units = weights[-1].shape[1]
            if labels.size and (labels.min() < 0 or labels.max() >= units):
                raise ValueError(f"y: class labels must lie in [0, {units}) for the output "
                                 f"layer of {units} units; got values from {labels.min()} "
                                 f"to {labels.max()}") from None
            if "changed shape" in str(error):  # resized in place: checked again, engine now
                self._checked = ()
                return None
            raise
        for layer, kernel_grad, bias_grad in zip(self.layers, kernel_grads, bias_grads):
            layer.kernel.grad, layer.bias.grad = kernel_grad, bias_grad
        loss = losses * head.value_scale / normalizer if normalizer else 0.0
        return float(self._one * (loss + penalty)), outputs

    def _layer_settings(self) -> list:
        """What the compiled function was made for, layer by layer."""
        return [(layer.activation, layer.use_bias, layer.kernel_regularizer)
                for layer in self.layers]

    def still_fits(self, model) -> bool:
        """Whether the model's layers are still the ones this was made for, with the same
        activations, biases and regularizers (a layer changed in place after the first
        step takes the model back through the planner)."""
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

    def _scales_for(self, n: int, sample_weight):
        """c = grad_scale / N and the penalty's decay 2 penalty / N, in the dtype; N, the
        loss's normalizer for this batch (:meth:`nnlearn.losses.Loss.normalizer`: n, the
        sum of the weights or 1), and penalty / N."""
        cast, normalizer = self.dtype.type, self.loss.normalizer(n, sample_weight)
        inverse = 1.0 / normalizer if normalizer else 0.0
        scales = (cast(self.head.grad_scale * inverse), cast(2 * self.head.penalty * inverse),
                  normalizer, self.head.penalty / normalizer if normalizer else 0.0)
        if sample_weight is None:
            self._scales[n] = scales
        return scales


CompiledGradients = DenseStepGradients  # its name in release 0.1 (nnlearn.compiled)
