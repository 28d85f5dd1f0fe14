"""The layer contract: :class:`Layer` (what the rest of the library asks of a layer, each
with a default), :class:`Input` and the base of the layers that draw random numbers.

A layer is built once it knows its input shape (``build(input_shape, rng, dtype)``);
``call(x, training)`` maps a batch (rows are samples) to a batch. Backpropagation comes
from the engine: no layer writes a backward pass. A layer first called unbuilt builds
itself for the batch it sees (with the random generator and dtype of the model being
built, see :func:`building`), which is how a subclassed ``Model`` builds its layers.
"""

from __future__ import annotations

import contextlib
import inspect
import math

import numpy as np

from .._registry import constructor_repr
from ..config_schema import ANY, INITIALIZER, NUMBER, SIZE
from .._validation import checking_keywords
from ..autograd import Tensor


_BUILDING: list = []  # (rng, dtype) of the models being built, innermost last


@contextlib.contextmanager
def building(rng: np.random.Generator, dtype):
    """Layers first called inside this block build with ``rng`` and ``dtype``."""
    _BUILDING.append((rng, np.dtype(dtype)))
    try:
        yield
    finally:
        _BUILDING.pop()


def symbolic_tensor_in(x):
    """The first symbolic tensor of a functional model in ``x`` (one, or a list of them),
    or None.  Asked by duck typing (``is_symbolic``): the layers do not import the models
    that build graphs of them."""
    for item in (x if isinstance(x, (list, tuple)) else (x,)):
        if getattr(item, "is_symbolic", False):
            return item
    return None


class Layer:
    """Base class.  Subclasses set ``self.params`` (Tensors) in ``build`` and define
    ``call``; ``get_config`` returns the constructor arguments.

    What the rest of the library asks of a layer, each with a default here:
    ``compute_output_shape(input_shape)`` (and the check that the layer accepts such
    samples), ``weight_shapes(input_shape)`` (the shapes of its weights without building
    it: model files check a file's arrays against them before reading anything),
    ``regularization()`` (the penalty added to the loss, or None), ``state_arrays()``
    (non-trainable arrays saved with the weights, e.g. batch normalization's moving
    statistics), ``reseed(seed_sequence)`` (fresh randomness for each epoch, e.g.
    dropout masks), ``config_schema()`` (what a model file's config of the layer must
    hold, checked before the layer is created) and ``values_per_sample(input_shape,
    output_shape)`` (the memory one sample takes in its forward pass, bounded by model
    files before anything runs)."""

    #: The JSON schema (:mod:`nnlearn.config_schema`) of each constructor argument,
    #: declared by the class that introduces the argument and merged along the bases by
    #: :meth:`config_schema`.  Here those that many layers share.
    ARGUMENTS = {"name": (None, str), "activation": (None, str), "use_bias": bool,
                 "kernel_initializer": INITIALIZER, "bias_initializer": INITIALIZER,
                 "kernel_regularizer": (None, dict)}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = checking_keywords(cls.__init__)

    def __init__(self, name: str | None = None):
        self.name = name
        self.params: list = []
        self.built = False
        self.input_shape = None
        self.output_shape = None

    def build(self, input_shape: tuple, rng: np.random.Generator, dtype) -> None:
        """Create the weights for samples of ``input_shape`` (no batch axis).

        Parameters
        ----------
        input_shape : tuple of int
            The shape of one sample.
        rng : numpy.random.Generator
            The source of the initial weights (the model's, so a seeded model is
            reproducible).
        dtype : the floating dtype of the weights.
        """
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """The shape of one output sample for samples of ``input_shape`` (no batch
        axis); checks that the layer accepts them."""
        return input_shape

    def weight_shapes(self, input_shape: tuple):
        """(the shapes of the weights in ``get_weights``' order, the output shape) for
        samples of ``input_shape``, without building the layer.  Here: no weights, for a
        layer that does not define its own ``build``; None for one that does without
        declaring its shapes (a model file then builds a copy to find out)."""
        if type(self).build is not Layer.build:
            return None
        return [], self.compute_output_shape(tuple(input_shape))

    @classmethod
    def config_schema(cls) -> dict:
        """The schema a model file's config of this layer is checked against before the
        layer is created: one key per constructor argument (optional when it has a
        default, ending in "?"), each of the type in :attr:`ARGUMENTS` of this class or
        a base (any JSON value for an argument no class declares)."""
        declared: dict = {}
        for klass in reversed(cls.__mro__):
            declared.update(vars(klass).get("ARGUMENTS", {}))
        schema = {}
        for name, p in inspect.signature(cls.__init__).parameters.items():
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                schema[name if p.default is p.empty else f"{name}?"] = declared.get(name, ANY)
        return schema

    def values_per_sample(self, input_shape: tuple, output_shape: tuple) -> int:
        """The values one sample takes in this layer's forward pass: here its output."""
        return math.prod(output_shape)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        """The layer's output for the batch ``x`` (rows are samples).

        Parameters
        ----------
        x : Tensor of shape (batch, *input_shape)
        training : bool
            True inside ``fit``: dropout, noise and augmentation are active and batch
            normalization uses the batch's statistics.
        """
        raise NotImplementedError

    def __call__(self, x, training: bool = False, **call_arguments):
        """``call`` on ``x`` (a Tensor or array), building the layer first if needed;
        keyword arguments go to ``call`` (a recurrent layer's ``initial_state``).  On a
        symbolic tensor (``nl.Input``) it records a node of a functional model instead
        and returns the symbolic output (:mod:`nnlearn.models.functional`)."""
        symbolic = None if isinstance(x, Tensor) else symbolic_tensor_in(x)
        if symbolic is not None:  # a node of a functional model (nnlearn.models.functional)
            return symbolic.called_by(self, x, training, call_arguments)
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.built:
            rng, dtype = _BUILDING[-1] if _BUILDING else (np.random.default_rng(), x.dtype)
            self.build(x.shape[1:], rng, dtype)
        return self.call(x, training, **call_arguments)

    def regularization(self) -> Tensor | None:
        """The penalty this layer adds to the loss (None: no penalty)."""
        return None

    def state_arrays(self) -> list:
        """Non-trainable arrays saved with the weights (none by default)."""
        return []

    def reseed(self, seed_sequence: np.random.SeedSequence) -> None:
        """Take fresh randomness for the next epoch (layers without any ignore it)."""

    def compiled_step_reason(self, last: bool) -> str | None:
        """Why the compiled Dense step (:mod:`nnlearn.lowering.dense_step`) cannot take this layer
        (``last``: as the output layer), or None when it can: here, it has no compiled
        form.  The planner asks every layer; a layer that gains an option says here
        whether the compiled step still computes it."""
        return f"a {type(self).__name__} layer has no compiled form"

    def count_params(self) -> int:
        """The number of trainable values."""
        return sum(p.size for p in self.params)

    def get_config(self) -> dict:
        """The constructor arguments, JSON-serialisable (model files, ``repr``)."""
        return {"name": self.name}

    def _param(self, array, dtype) -> Tensor:
        return Tensor(np.asarray(array), requires_grad=True, dtype=dtype)

    def __repr__(self):
        """``Dense(units=4, activation='tanh')``: code that builds the same layer."""
        return constructor_repr(self, self.get_config())


Layer.__init__ = checking_keywords(Layer.__init__)  # (its subclasses': __init_subclass__)


class Input(Layer):
    """Declares the shape of one sample (without the batch axis).

    Parameters
    ----------
    shape : int or tuple of int
        The shape of one sample: ``784`` (a vector) or ``(28, 28, 1)`` (an image).
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    ARGUMENTS = {"shape": [SIZE]}

    def __init__(self, shape, name: str | None = None):
        super().__init__(name)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if not shape or not all(isinstance(n, int) and n > 0 for n in shape):
            raise ValueError(f"Input: shape must be positive integers; got {shape!r}")
        self.shape = shape

    def call(self, x, training=False):
        return x

    def get_config(self):
        return {"shape": list(self.shape), **super().get_config()}


class RandomLayer(Layer):
    """A layer that draws random numbers while training (dropout, noise, augmentation):
    from its own ``seed``, or else fresh randomness from ``fit(seed=)`` at each epoch, so
    that a seeded fit is reproducible."""

    ARGUMENTS = {"seed": (None, int), "rate": NUMBER, "stddev": NUMBER}

    def __init__(self, seed: int | None = None, name: str | None = None):
        super().__init__(name)
        if seed is not None and (not isinstance(seed, (int, np.integer))
                                 or isinstance(seed, bool)):
            raise ValueError(f"{type(self).__name__}: seed must be an integer or None; "
                             f"got {seed!r}")
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def reseed(self, seed_sequence) -> None:
        """Called by ``fit`` at each epoch (unless the layer has its own seed), so that
        the random draws depend only on fit's seed and the epoch."""
        if self.seed is None:
            self._rng = np.random.default_rng(seed_sequence)

    def get_config(self):
        return {"seed": self.seed, **super().get_config()}


def check_sample_rank(input_shape, rank: int, layer: str, what: str) -> None:
    if len(input_shape) != rank:
        raise ValueError(f"{layer} expects samples of shape {what}; got sample shape "
                         f"{tuple(input_shape)}")


# Every layer class a model file may name, by class name (filled by the package's
# __init__, which imports every family of layers; user-defined layers are not here: a
# file names only the library's own classes).
LAYERS: dict = {}


def get(class_name: str, config: dict) -> Layer:
    """A layer from its class name and config (model files)."""
    if class_name not in LAYERS:
        raise ValueError(f"unknown layer class {class_name!r} in model file")
    return LAYERS[class_name](**config)
