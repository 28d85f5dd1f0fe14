"""A stack of layers, each feeding the next (Keras's Sequential), the multilayer perceptron
built in one call, and the Python source that rebuilds a model.
"""

from __future__ import annotations

import numpy as np

from .. import activations, losses, optimizers
from .. import layers as layers_module
from .. import metrics as metrics_module
from .._validation import check_positive_int
from .files import FORMAT, FORMAT_VERSION, write_archive
from .model import Model


class Sequential(Model):
    """A stack of layers, each feeding the next (the Keras model of the main job).

    ``layers`` (a list of Layer) come first; ``seed``, ``dtype``, ``name`` and the
    attributes are :class:`Model`'s.  ``nnlearn train`` keeps the feature names, the
    scaling and the class labels in ``metadata``, saved with the model file.
    """

    def __init__(self, layers=None, seed: int | None = None, dtype="float32",
                 name: str = "sequential"):
        if isinstance(layers, layers_module.Layer):
            raise TypeError(f"Sequential: layers must be a list of layers, e.g. "
                            f"Sequential([Dense(16), Dense(1)]); got a single "
                            f"{type(layers).__name__} (put the layers in a list)")
        try:
            items = iter(() if layers is None else layers)
        except TypeError:
            raise TypeError(f"Sequential: layers must be a list of layers; got "
                            f"{type(layers).__name__}") from None
        layers = list(items)
        super().__init__(seed=seed, dtype=dtype, name=name)
        for layer in layers:
            self.add(layer)

    def add(self, layer) -> None:
        """Append a layer (before the model is built)."""
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"add: expected a Layer; got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("add: the model is already built; create a new Sequential")
        self._layers.append(layer)

    @property
    def input_shape(self):
        """The sample shape from an Input layer or input_dim, or once built."""
        first = self.layers[0] if self.layers else None
        if isinstance(first, layers_module.Input):
            return first.shape
        if isinstance(first, layers_module.Dense) and first.input_dim:
            return (first.input_dim,)
        return self.layers[0].input_shape if self.built else None

    def _sample_output_shape(self):
        """The last layer's output shape for one sample, once built (else None)."""
        last = self.layers[-1] if self.layers else None
        return tuple(last.output_shape) if last is not None and last.built else None

    @property
    def output_units(self) -> int:
        """The number of values the last layer gives per sample."""
        return int(np.prod(self.layers[-1].output_shape))

    def build(self, input_shape) -> None:
        """Create every layer's weights for samples of ``input_shape`` (no batch axis)."""
        if not self.layers:
            raise ValueError("the model has no layers")
        rng = np.random.default_rng(self.seed)
        shape = tuple(input_shape)
        for layer in self.layers:
            layer.build(shape, rng, self.dtype)
            shape = layer.output_shape
        self.built = True

    def call(self, x, training=False):
        """The layers applied in order."""
        if not self.built:  # a Sequential nested in another model builds on first use
            self.build(x.shape[1:])
        out = x
        for layer in self.layers:
            out = layer.call(out, training)
        return out

    @property
    def output_activation(self):
        """The last Dense or Activation layer's registered activation name."""
        last = self.layers[-1] if self.layers else None
        if isinstance(last, (layers_module.Dense, layers_module.Activation)):
            return activations.registered_name(last.activation)
        return None

    def logits(self, x, training=False):
        """The output with the last layer's activation left out."""
        out = x
        for layer in self.layers[:-1]:
            out = layer.call(out, training)
        last = self.layers[-1]
        if isinstance(last, layers_module.Dense):
            return last.pre_activation(out)
        return out  # an Activation layer: its input is the logits

    # -- model files ---------------------------------------------------------------------
    def own_step_methods(self, names: tuple = Model.STEP_METHODS) -> list:
        """The methods among ``names`` a subclass of Sequential writes itself (none for a
        plain stack)."""
        return self._differing_from(Sequential, names)

    def get_config(self) -> dict:
        """The architecture as JSON-serialisable data (model files)."""
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    def save(self, file) -> None:
        """Write one file (a path or a binary file object): a JSON manifest
        (architecture, compile settings, SHA-256 of every array) and the weights and
        optimizer state as .npy arrays in a zip.  No pickle.  A path is written to a
        temporary file, fsynced and renamed, so a crash never leaves a half-written model;
        a symlink is written through, the file's mode is kept and a read-only file is
        refused (PermissionError).  ``metadata`` must be a JSON-serialisable dict."""
        if not isinstance(self.metadata, dict):
            raise TypeError(f"model.metadata must be a dict; got {type(self.metadata).__name__}")
        arrays = {f"weight_{i}": w for i, w in enumerate(self.get_weights())}
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "model": self.get_config(),
                    "compile": None, "metadata": self.metadata}
        if self.loss is not None:
            manifest["compile"] = {
                **({"outputs": self._compile_config()} if "graph" in manifest["model"]
                   else {}),
                "loss": losses.serialize(self.loss),
                "metrics": [metrics_module.serialize(m) for m in self.metrics],
                "optimizer": optimizers.serialize(self.optimizer),
                "iterations": self.optimizer.iterations,
            }
            for i, s in enumerate(self.optimizer.get_state()):
                arrays[f"optimizer_{i}"] = s
        write_archive(file, manifest, arrays)


# -- the multilayer perceptron, built once for everyone --------------------------------------
def mlp(n_inputs: int, hidden, n_outputs: int, activation="relu", output_activation=None,
        *, kernel_regularizer=None, dropout: float = 0.0, batch_normalization: bool = False,
        kernel_initializer="glorot_uniform", seed: int | None = None, dtype="float32",
        name: str = "mlp") -> Sequential:
    """A multilayer perceptron (Rumelhart, Hinton & Williams 1986): ``n_inputs`` ->
    Dense(h, activation) for each h in ``hidden`` (each optionally followed by
    BatchNormalization and Dropout) -> Dense(n_outputs, output_activation).

    The estimators, the ``nnlearn train`` command and the playground all build their
    networks here.  ``kernel_regularizer`` applies to every Dense layer's kernel.
    """
    hidden = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
    for units in [n_inputs, *hidden, n_outputs]:
        check_positive_int(units, "layer sizes")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
    stack = [layers_module.Input(int(n_inputs))]
    for units in hidden:
        stack.append(layers_module.Dense(int(units), activation=activation,
                                         kernel_regularizer=kernel_regularizer,
                                         kernel_initializer=kernel_initializer))
        if batch_normalization:
            stack.append(layers_module.BatchNormalization())
        if dropout:
            stack.append(layers_module.Dropout(dropout))
    stack.append(layers_module.Dense(int(n_outputs), activation=output_activation,
                                     kernel_regularizer=kernel_regularizer,
                                     kernel_initializer=kernel_initializer))
    return Sequential(stack, seed=seed, dtype=dtype, name=name)


def python_source(model: Sequential, variable: str = "model", imports: bool = True) -> str:
    """Python code that builds ``model`` (and compiles it the same way), generated from
    its config: the playground's export, and a readable record of any Sequential (a
    functional model writes its own: :meth:`Functional.python_source
    <nnlearn.models.functional.Functional.python_source>`)."""
    if "graph" in getattr(model, "get_config", dict)():
        return model.python_source(variable, imports)
    config = model.get_config()
    if model.loss is not None:
        losses.serialize(model.loss)  # a custom loss has no code to write: clear error
    lines = ["import nnlearn as nl", ""] if imports else []
    lines.append(f"{variable} = nl.Sequential([")
    lines += [f"    nl.layers.{layer!r}," for layer in model.layers]
    name = "" if config["name"] == "sequential" else f", name={config['name']!r}"
    lines.append(f"], seed={config['seed']!r}, dtype={config['dtype']!r}{name})")
    if model.loss is not None:
        metrics = [m.name for m in model.metrics]
        lines.append(f"{variable}.compile(optimizer=nl.optimizers.{model.optimizer!r},")
        lines.append(f"    loss=nl.losses.{model.loss!r}"
                     + (f", metrics={metrics!r})" if metrics else ")"))
    return "\n".join(lines) + "\n"
