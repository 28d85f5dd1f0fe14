"""Merge layers: several tensors in, one out (Keras's names), for functional models
(:mod:`nnlearn.models.functional`).  Each is called on a list of tensors::

    x = nl.Input(8)
    h = nl.layers.Dense(8, activation="relu")(x)
    y = nl.layers.Add()([x, h])            # a residual connection (He et al. 2016)

The element-wise merges take tensors of one shape $s$ and give that shape:
``Add`` $\\sum_k x_k$, ``Subtract`` $x_1 - x_2$, ``Multiply`` $\\prod_k x_k$ (Hadamard),
``Average`` $\\frac{1}{K}\\sum_k x_k$, ``Maximum`` $\\max_k x_k$ and ``Minimum``
$\\min_k x_k$ (element by element).  ``Concatenate`` joins along an axis; ``Dot`` is the
batched dot product.  No merge layer has weights, and no merge layer writes a backward
pass: each is a composition of the engine's ops, whose gradients are checked.
"""

from __future__ import annotations

import numpy as np

from .. import autograd as ag
from ..autograd import Tensor
from .base import Layer, symbolic_tensor_in

__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot"]


def _shapes(input_shape) -> list:
    """The list of sample shapes a merge layer is given (each a tuple)."""
    if not isinstance(input_shape, (list, tuple)) or not input_shape or \
            not all(isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(f"a merge layer takes a list of tensors; got one of shape "
                         f"{input_shape!r}")
    return [tuple(int(n) for n in s) for s in input_shape]


class Merge(Layer):
    """Base class: ``call(inputs)`` on a list of at least ``minimum_inputs`` tensors
    (exactly ``exact_inputs`` when that is set)."""

    minimum_inputs = 2
    exact_inputs: int | None = None

    def _check_count(self, count: int) -> None:
        name = type(self).__name__
        if self.exact_inputs is not None and count != self.exact_inputs:
            raise ValueError(f"{name}: inputs must be a list of exactly {self.exact_inputs} "
                             f"tensors; got {count}")
        if count < self.minimum_inputs:
            raise ValueError(f"{name}: inputs must be a list of at least "
                             f"{self.minimum_inputs} tensors; got {count}")

    def compute_output_shape(self, input_shape):
        shapes = _shapes(input_shape)
        self._check_count(len(shapes))
        return self.merged_shape(shapes)

    def merged_shape(self, shapes: list) -> tuple:
        """The element-wise merges: every input of one shape, which the output has."""
        if any(s != shapes[0] for s in shapes[1:]):
            raise ValueError(f"{type(self).__name__}: inputs must all have the same sample "
                             f"shape; got {', '.join(map(str, shapes))}")
        return shapes[0]

    def __call__(self, inputs, training: bool = False, **call_arguments):
        """On symbolic tensors, a node of a functional model (see :class:`Layer`); on
        arrays or Tensors, the merged Tensor."""
        if symbolic_tensor_in(inputs) is not None:
            return super().__call__(inputs, training, **call_arguments)
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{type(self).__name__}: inputs must be a list of tensors; got "
                             f"{type(inputs).__name__}")
        tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in inputs]
        if not self.built:
            self.build([t.shape[1:] for t in tensors], None, tensors[0].dtype)
        elif [tuple(t.shape[1:]) for t in tensors] != list(self.input_shape):
            self.compute_output_shape([t.shape[1:] for t in tensors])  # names the mismatch
        return self.call(tensors, training)

    def build(self, input_shape, rng, dtype):
        """No weights: the output shape, the inputs checked."""
        shapes = _shapes(input_shape)
        self.output_shape = self.compute_output_shape(shapes)
        self.input_shape = tuple(shapes)
        self.built = True

    def weight_shapes(self, input_shape):
        """No weights."""
        return [], self.compute_output_shape(input_shape)

    def call(self, inputs, training=False):
        """The merged batch; subclasses define it."""
        raise NotImplementedError


class Add(Merge):
    """$y = \\sum_{k=1}^{K} x_k$ (a residual connection $y = x + F(x)$ with two inputs;
    He, Zhang, Ren & Sun 2016).

    Parameters
    ----------
    name : str, optional
        The layer's name (Keras's by default: add, add_1, ...).
    """

    def call(self, inputs, training=False):
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total


class Subtract(Merge):
    """$y = x_1 - x_2$ (exactly two inputs).

    Parameters
    ----------
    name : str, optional
        The layer's name.
    """

    exact_inputs = 2

    def call(self, inputs, training=False):
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """$y = x_1 \\odot x_2 \\odot \\dots \\odot x_K$ (element by element; a gate when one
    input is a sigmoid, Hochreiter & Schmidhuber 1997).

    Parameters
    ----------
    name : str, optional
        The layer's name.
    """

    def call(self, inputs, training=False):
        product = inputs[0]
        for x in inputs[1:]:
            product = product * x
        return product


class Average(Merge):
    """$y = \\frac{1}{K} \\sum_{k=1}^{K} x_k$.

    Parameters
    ----------
    name : str, optional
        The layer's name.
    """

    def call(self, inputs, training=False):
        return Add.call(self, inputs) * (1.0 / len(inputs))


class Maximum(Merge):
    """$y = \\max_k x_k$ element by element (the gradient goes to the largest input,
    shared on ties: :func:`nnlearn.autograd.maximum`).

    Parameters
    ----------
    name : str, optional
        The layer's name.
    """

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = ag.maximum(out, x)
        return out


class Minimum(Merge):
    """$y = \\min_k x_k$ element by element (:func:`nnlearn.autograd.minimum`).

    Parameters
    ----------
    name : str, optional
        The layer's name.
    """

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = ag.minimum(out, x)
        return out


class Concatenate(Merge):
    """The inputs joined along ``axis`` (of the batch, so ``axis=-1`` is the features'
    axis; ``axis=0``, the samples, is refused): every other axis must agree.

    Parameters
    ----------
    axis : int, default=-1
        The axis the inputs are joined along (of the batch: -1 is the features' axis).
    name : str, optional
        The layer's name.
    """

    minimum_inputs = 1

    ARGUMENTS = {"axis": int}

    def __init__(self, axis: int = -1, name: str | None = None):
        super().__init__(name)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or axis == 0:
            raise ValueError(f"Concatenate: axis must be a non-zero integer (axis 0 is the "
                             f"samples); got {axis!r}")
        self.axis = int(axis)

    def _sample_axis(self, rank: int) -> int:
        """The axis in a sample's shape (batch axis removed)."""
        axis = self.axis - 1 if self.axis > 0 else rank + self.axis
        if not 0 <= axis < rank:
            raise ValueError(f"Concatenate: axis={self.axis} is out of range for inputs of "
                             f"{rank + 1} axes (batch included)")
        return axis

    def merged_shape(self, shapes):
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f"Concatenate: inputs must have the same number of axes; got "
                             f"{', '.join(map(str, shapes))}")
        axis = self._sample_axis(len(shapes[0]))
        rest = {s[:axis] + s[axis + 1:] for s in shapes}
        if len(rest) != 1:
            raise ValueError(f"Concatenate: inputs must agree on every axis but axis="
                             f"{self.axis}; got {', '.join(map(str, shapes))}")
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        return tuple(shape)

    def call(self, inputs, training=False):
        return ag.concatenate(inputs, axis=self._sample_axis(inputs[0].ndim - 1) + 1)

    def get_config(self):
        return {"axis": self.axis, **super().get_config()}


class Dot(Merge):
    """The batched dot product of two inputs along ``axes`` (Keras's ``batch_dot``):
    for samples $a \\in \\mathbb{R}^{k}$, $b \\in \\mathbb{R}^{k}$,
    $y = \\sum_i a_i b_i$ (shape (1,)); for matrices $A \\in \\mathbb{R}^{n \\times k}$,
    $B \\in \\mathbb{R}^{k \\times m}$ with ``axes=(2, 1)``, $Y = A B$.  ``normalize=True``
    divides each input by its L2 norm along the axis first, $a / \\max(\\|a\\|, 10^{-6})$
    (so $y$ is the cosine similarity).  Samples of one or two axes (inputs of rank 2 or 3,
    batch included); ``axes`` counts the batch axis, as in Keras.

    Parameters
    ----------
    axes : int or (int, int)
        The axis of each input summed over (of the batch; one int for both).
    normalize : bool, default=False
        Whether each input is divided by its L2 norm along its axis first (the cosine similarity).
    name : str, optional
        The layer's name.
    """

    exact_inputs = 2

    ARGUMENTS = {"axes": (int, [int]), "normalize": bool}

    def __init__(self, axes, normalize: bool = False, name: str | None = None):
        super().__init__(name)
        pair = (axes, axes) if isinstance(axes, (int, np.integer)) else tuple(axes) \
            if isinstance(axes, (list, tuple)) else None
        if pair is None or len(pair) != 2 or any(
                isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a == 0
                for a in pair):
            raise ValueError(f"Dot: axes must be a non-zero integer or a pair of them (axis 0 "
                             f"is the samples); got {axes!r}")
        self.axes = axes if isinstance(axes, (int, np.integer)) else list(pair)
        self.axes = int(self.axes) if isinstance(self.axes, (int, np.integer)) else \
            [int(a) for a in self.axes]
        self.normalize = bool(normalize)

    def _sample_axes(self, shapes) -> tuple:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        result = []
        for axis, shape in zip(pair, shapes):
            rank = len(shape)
            if rank not in (1, 2):
                raise ValueError(f"Dot: inputs must have samples of 1 or 2 axes (rank 2 or "
                                 f"3 with the batch); got a sample shape {shape}")
            sample_axis = axis - 1 if axis > 0 else rank + axis
            if not 0 <= sample_axis < rank:
                raise ValueError(f"Dot: axes={self.axes!r} is out of range for a sample of "
                                 f"shape {shape}")
            result.append(sample_axis)
        return tuple(result)

    def merged_shape(self, shapes):
        a, b = self._sample_axes(shapes)
        if shapes[0][a] != shapes[1][b]:
            raise ValueError(f"Dot: the axes to multiply must have the same length; got "
                             f"{shapes[0][a]} (axis {a + 1} of {shapes[0]}) and "
                             f"{shapes[1][b]} (axis {b + 1} of {shapes[1]})")
        rest = shapes[0][:a] + shapes[0][a + 1:] + shapes[1][:b] + shapes[1][b + 1:]
        return rest or (1,)

    @staticmethod
    def _l2_normalized(x: Tensor, axis: int) -> Tensor:
        norm = ag.sqrt(ag.sum(x * x, axis=axis, keepdims=True))
        return x / ag.maximum(norm, 1e-6)

    def call(self, inputs, training=False):
        a, b = inputs
        axis_a, axis_b = self._sample_axes([a.shape[1:], b.shape[1:]])
        if self.normalize:
            a, b = self._l2_normalized(a, axis_a + 1), self._l2_normalized(b, axis_b + 1)
        # a as (batch, n, k), b as (batch, k, m): the axes to multiply moved inside
        if a.ndim == 3 and axis_a == 0:
            a = ag.transpose(a, (0, 2, 1))
        if b.ndim == 3 and axis_b == 1:
            b = ag.transpose(b, (0, 2, 1))
        batch = a.shape[0]
        a3 = a if a.ndim == 3 else ag.reshape(a, (batch, 1, a.shape[1]))
        b3 = b if b.ndim == 3 else ag.reshape(b, (batch, b.shape[1], 1))
        product = ag.matmul(a3, b3)  # (batch, n or 1, m or 1)
        return ag.reshape(product, (batch, *self.merged_shape([inputs[0].shape[1:],
                                                               inputs[1].shape[1:]])))

    def get_config(self):
        return {"axes": self.axes, "normalize": self.normalize, **super().get_config()}


MERGE_LAYERS = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot)
