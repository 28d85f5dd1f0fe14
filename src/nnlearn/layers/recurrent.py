"""Recurrent layers (Keras's names, arguments, defaults and weight layouts), re-exported by
:mod:`nnlearn.layers`: SimpleRNN (Elman 1990), LSTM (Hochreiter & Schmidhuber 1997; the
forget gate of Gers, Schmidhuber & Cummins 2000), GRU (Cho et al. 2014), the
Bidirectional and TimeDistributed wrappers (Schuster & Paliwal 1997) and Embedding.

A recurrent network "can use current and previous inputs, in time": it reads a sequence
``(steps, features)`` one step at a time, carrying a state from each step to the next.
Trained by backpropagation through time (Werbos 1990), it is "extremely hard to train"
when the dependencies are long: the gradient reaching step t - T is a product of T
Jacobians, which shrinks or grows exponentially (Hochreiter 1991; Bengio, Simard &
Frasconi 1994; Pascanu, Mikolov & Bengio 2013). The LSTM's key idea is to "let the cell
state through, potentially forget past inputs via a gate sigma": its cell state is
updated additively, scaled only by the forget gate.

The layers run the fused ops of :mod:`nnlearn.autograd.recurrent` (one graph node per
layer with a hand-written BPTT VJP). With an activation the fused ops lack (or GRU's
``reset_after=False``) they unroll the cell on the engine, one node per op and step.

Weights, in Keras's order: ``kernel`` (features, gates * units), ``recurrent_kernel``
(units, gates * units), ``bias`` (gates * units,) - GRU with reset_after: (2, 3 * units),
input bias then recurrent bias. Gate order: LSTM i, f, c, o; GRU z, r, h. To load
PyTorch's nn.LSTM weights: kernel = weight_ih_l0.T, recurrent_kernel = weight_hh_l0.T,
bias = bias_ih_l0 + bias_hh_l0 (same gate order i, f, g, o). nn.GRU orders its gates r,
z, n: permute the blocks to z, r, n (:func:`gru_weights_from_torch`), bias = [bias_ih,
bias_hh] permuted the same way.

This module is long because each recurrent layer's docstring gives its equations and
every constructor parameter, where the reader of the layer looks for them.
"""

from __future__ import annotations

import numpy as np

from .. import activations, initializers, regularizers
from .. import autograd as ag
from ..autograd.recurrent import FUSED_ACTIVATIONS
from .._validation import check_flag, check_positive_int
from ..config_schema import IDENTIFIED, INITIALIZER, SIZE, one_of
from .base import Layer, get


__all__ = ["SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "Embedding",
           "gru_weights_from_torch", "lstm_weights_from_torch", "is_recurrent"]


class _RNN(Layer):
    """The shared part of SimpleRNN, LSTM and GRU: the loop over a sequence
    ``(batch, steps, features)`` and Keras's options.

    return_sequences : the state of every step (batch, steps, units), else the last one.
    return_state : also return the final state(s) as a list ``[output, h]`` (LSTM:
        ``[output, h, c]``), for a functional or subclassed model.
    go_backwards : read the sequence from its end (the output is in that order too).
    stateful : the final states of a batch are the initial states of the next (call
        ``reset_states()`` between independent sequences); a batch of another size
        starts from zeros.
    Calling the layer with ``initial_state=[h]`` (LSTM: ``[h, c]``) sets the states.
    """

    gates = 1
    n_states = 1

    ARGUMENTS = {"units": SIZE, "recurrent_activation": (None, str),
                 "recurrent_initializer": INITIALIZER, "return_sequences": bool,
                 "return_state": bool, "go_backwards": bool, "stateful": bool}

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, name: str | None = None):
        super().__init__(name)
        layer = type(self).__name__
        self.units = check_positive_int(units, f"{layer}: units")
        self.activation = activations.get(activation)
        self.use_bias = check_flag(use_bias, f"{layer}: use_bias")
        for argument, value in (("kernel_initializer", kernel_initializer),
                                ("recurrent_initializer", recurrent_initializer),
                                ("bias_initializer", bias_initializer)):
            initializers.get(value, argument)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.return_sequences = check_flag(return_sequences,
                                           f"{layer}: return_sequences")
        self.return_state = check_flag(return_state, f"{layer}: return_state")
        self.go_backwards = check_flag(go_backwards, f"{layer}: go_backwards")
        self.stateful = check_flag(stateful, f"{layer}: stateful")
        self.states = None

    # -- shapes and weights ------------------------------------------------------------
    def bias_shape(self) -> tuple:
        """The shape of the bias: one value per gate and unit."""
        return (self.gates * self.units,)

    def weight_shapes(self, input_shape) -> tuple:
        """(weight shapes in get_weights' order, output shape), without building."""
        self.compute_output_shape(tuple(input_shape))
        g = self.gates * self.units
        shapes = [(int(input_shape[-1]), g), (self.units, g)]
        return shapes + ([self.bias_shape()] if self.use_bias else []), \
            self.compute_output_shape(tuple(input_shape))

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{type(self).__name__} expects sequences of shape (steps, "
                             f"features); got sample shape {tuple(input_shape)}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def initial_bias(self, rng) -> np.ndarray:
        """The bias before training (``bias_initializer``)."""
        return initializers.get(self.bias_initializer)(self.bias_shape(), rng)

    def build(self, input_shape, rng, dtype):
        self.compute_output_shape(tuple(input_shape))
        g = self.gates * self.units
        self.kernel = self._param(initializers.get(self.kernel_initializer)(
            (int(input_shape[-1]), g), rng), dtype)
        self.recurrent_kernel = self._param(initializers.get(self.recurrent_initializer)(
            (self.units, g), rng), dtype)
        self.params = [self.kernel, self.recurrent_kernel]
        self.bias = None
        if self.use_bias:
            self.bias = self._param(self.initial_bias(rng), dtype)
            self.params.append(self.bias)
        super().build(input_shape, rng, dtype)

    def regularization(self):
        return self.kernel_regularizer(self.kernel) if self.kernel_regularizer else None

    # -- the forward pass --------------------------------------------------------------
    def reset_states(self) -> None:
        """Forget the states a stateful layer carries over (the next batch starts from
        zeros)."""
        self.states = None

    def _initial_states(self, x, initial_state) -> list:
        n = x.shape[0]
        layer = type(self).__name__
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            if len(states) != self.n_states:
                raise ValueError(f"{layer}: initial_state must hold {self.n_states} "
                                 f"state(s) of shape (batch, units); got {len(states)}")
            states = [s if isinstance(s, ag.Tensor) else ag.Tensor(s, dtype=x.dtype)
                      for s in states]
            for s in states:
                if s.shape != (n, self.units):
                    raise ValueError(f"{layer}: initial_state must have shape (batch, "
                                     f"units) = {(n, self.units)}; got {s.shape}")
            return states
        if self.stateful and self.states is not None and self.states[0].shape[0] == n:
            return [ag.Tensor(s) for s in self.states]
        return [None] * self.n_states

    def fused(self) -> bool:
        """Whether the fused op (with its BPTT VJP) applies to these activations."""
        names = [activations.registered_name(self.activation)]
        if hasattr(self, "recurrent_activation"):
            names.append(activations.registered_name(self.recurrent_activation))
        return all(name in FUSED_ACTIVATIONS for name in names)

    def call(self, x, training=False, initial_state=None):
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__} expects a batch of sequences (batch, "
                             f"steps, features); got shape {x.shape}")
        states = self._initial_states(x, initial_state)
        if self.go_backwards:
            x = x[:, ::-1]
        sequence, finals = self.run(x, states)
        if self.stateful:
            self.states = [np.array(f.data) for f in finals]
        out = sequence if self.return_sequences else sequence[:, -1]
        return [out, *finals] if self.return_state else out

    def run(self, x, states) -> tuple:
        """(the states of every step (batch, steps, units), [the final state(s)])."""
        raise NotImplementedError

    def unrolled(self, x, states) -> tuple:
        """The same as :meth:`run`, as a graph of engine ops: one cell per step."""
        n, steps, features = x.shape
        xw = ag.reshape(ag.linear(ag.reshape(x, (n * steps, features)), self.kernel,
                                  self.input_bias()), (n, steps, -1))
        states = [ag.Tensor(np.zeros((n, self.units), x.dtype)) if s is None else s
                  for s in states]
        outputs = []
        for t in range(steps):
            states = self.cell(xw[:, t], states)
            outputs.append(states[0])
        return ag.stack(outputs, axis=1), states

    def input_bias(self):
        """The bias added to x_t W before the gates (all of it but GRU's recurrent part)."""
        return self.bias

    def cell(self, xw_t, states) -> list:
        """One step on engine ops: the new states from x_t W + b and the old states."""
        raise NotImplementedError

    def get_config(self):
        return {"units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer,
                "recurrent_initializer": self.recurrent_initializer,
                "bias_initializer": self.bias_initializer,
                "kernel_regularizer": (self.kernel_regularizer.get_config()
                                       if self.kernel_regularizer else None),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                **super().get_config()}


class SimpleRNN(_RNN):
    r"""Elman's simple recurrent network (Elman 1990, "Finding structure in time"),
    Keras's SimpleRNN:

    $$
    h_t = g(x_t W + h_{t-1} U + b).
    $$

    Its gradient through $T$ steps is a product of $T$ Jacobians
    $\partial h_t / \partial h_{t-1} = \operatorname{diag}(g'(z_t))\, U^\top$: it vanishes
    (or explodes) exponentially with $T$ (Bengio, Simard & Frasconi 1994).

    Parameters
    ----------
    units : int
        The size $u$ of the state $h_t$ (and of the output at each step).
    activation : str or callable, default="tanh"
        The activation $g$ of the new state (or candidate).
    use_bias : bool, default=True
        Whether the gates add a learned bias $b$.
    kernel_initializer : str or initializer, default="glorot_uniform"
        How the input kernel $W$ (features, units) is drawn.
    recurrent_initializer : str or initializer, default="orthogonal"
        How the recurrent kernel $U$ (units, units) is drawn (an orthogonal matrix,
        Saxe, McClelland & Ganguli 2014).
    bias_initializer : str or initializer, default="zeros"
        How the bias starts.
    kernel_regularizer : regularizer, optional
        A penalty on the input kernel $W$ added to the loss.
    return_sequences : bool, default=False
        Return the state of every step (batch, steps, units), else the last one only.
    return_state : bool, default=False
        Also return the final state(s), as a list ``[output, h]`` (LSTM:
        ``[output, h, c]``), for a functional or subclassed model.
    go_backwards : bool, default=False
        Read the sequence from its end (the output is in that order too).
    stateful : bool, default=False
        The final states of a batch are the initial states of the next (call
        ``reset_states()`` between independent sequences); a batch of another size starts
        from zeros.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def run(self, x, states):
        if not self.fused():
            return self.unrolled(x, states)
        h = ag.simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias, states[0],
                          activations.registered_name(self.activation))
        return h, [h[:, -1]]

    def cell(self, xw_t, states):
        return [self.activation(xw_t + ag.matmul(states[0], self.recurrent_kernel))]


class LSTM(_RNN):
    r"""Long short-term memory (Hochreiter & Schmidhuber 1997) with a forget gate (Gers,
    Schmidhuber & Cummins 2000), Keras's LSTM:

    $$
    \begin{aligned}
    i_t &= \sigma(x_t W_i + h_{t-1} U_i + b_i), &
    f_t &= \sigma(x_t W_f + h_{t-1} U_f + b_f), \\
    \tilde c_t &= g(x_t W_c + h_{t-1} U_c + b_c), &
    o_t &= \sigma(x_t W_o + h_{t-1} U_o + b_o), \\
    c_t &= f_t \odot c_{t-1} + i_t \odot \tilde c_t, &
    h_t &= o_t \odot g(c_t),
    \end{aligned}
    $$

    $g$ = ``activation`` (tanh), $\sigma$ = ``recurrent_activation`` (sigmoid); the cell
    state $c_t$ is updated additively, scaled only by the forget gate, so its gradient can
    reach far back.

    Parameters
    ----------
    units : int
        The size $u$ of the state $h_t$ (and of the output at each step).
    activation : str or callable, default="tanh"
        The activation $g$ of the new state (or candidate).
    recurrent_activation : str or callable, default="sigmoid"
        The gates' activation $\sigma$.
    use_bias : bool, default=True
        Whether the gates add a learned bias $b$.
    kernel_initializer : str or initializer, default="glorot_uniform"
        How the input kernel $W$ (features, 4 units) is drawn.
    recurrent_initializer : str or initializer, default="orthogonal"
        How the recurrent kernel $U$ (units, 4 units) is drawn (an orthogonal matrix,
        Saxe, McClelland & Ganguli 2014).
    bias_initializer : str or initializer, default="zeros"
        How the bias starts.
    unit_forget_bias : bool, default=True
        Start the forget gate's bias $b_f$ at 1, so the cell state is let through at first
        (Keras's default; Jozefowicz, Zaremba & Sutskever 2015).
    kernel_regularizer : regularizer, optional
        A penalty on the input kernel $W$ added to the loss.
    return_sequences : bool, default=False
        Return the state of every step (batch, steps, units), else the last one only.
    return_state : bool, default=False
        Also return the final state(s), as a list ``[output, h]`` (LSTM:
        ``[output, h, c]``), for a functional or subclassed model.
    go_backwards : bool, default=False
        Read the sequence from its end (the output is in that order too).
    stateful : bool, default=False
        The final states of a batch are the initial states of the next (call
        ``reset_states()`` between independent sequences); a batch of another size starts
        from zeros.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    gates = 4
    n_states = 2

    ARGUMENTS = {"unit_forget_bias": bool}

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, kernel_regularizer=None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, name: str | None = None):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         return_sequences, return_state, go_backwards, stateful, name)
        self.recurrent_activation = activations.get(recurrent_activation,
                                                    "recurrent_activation")
        self.unit_forget_bias = check_flag(unit_forget_bias, "LSTM: unit_forget_bias")

    def initial_bias(self, rng):
        bias = super().initial_bias(rng)
        if self.unit_forget_bias:
            bias[self.units:2 * self.units] = 1.0
        return bias

    def run(self, x, states):
        if not self.fused():
            return self.unrolled(x, states)
        h, c = ag.lstm(x, self.kernel, self.recurrent_kernel, self.bias, states[0], states[1],
                       activations.registered_name(self.activation),
                       activations.registered_name(self.recurrent_activation))
        return h, [h[:, -1], c[:, -1]]

    def cell(self, xw_t, states):
        h, c = states
        k = self.units
        z = xw_t + ag.matmul(h, self.recurrent_kernel)
        s, g = self.recurrent_activation, self.activation
        i, f, cc, o = s(z[:, :k]), s(z[:, k:2 * k]), g(z[:, 2 * k:3 * k]), s(z[:, 3 * k:])
        c = f * c + i * cc
        return [o * g(c), c]

    def get_config(self):
        config = super().get_config()
        return {"units": config.pop("units"), "activation": config.pop("activation"),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias, **config}


class GRU(_RNN):
    r"""Gated recurrent unit (Cho et al. 2014), Keras's GRU (gate order z, r, h):

    $$
    \begin{aligned}
    z_t &= \sigma(x_t W_z + h_{t-1} U_z + b_z), \qquad
    r_t = \sigma(x_t W_r + h_{t-1} U_r + b_r), \\
    \tilde h_t &= g\big(x_t W_h + b_h + r_t \odot (h_{t-1} U_h + b'_h)\big)
    \quad \text{(reset after, Keras's default)}, \\
    \tilde h_t &= g\big(x_t W_h + (r_t \odot h_{t-1}) U_h + b_h\big)
    \quad \text{(reset before, Cho et al.)}, \\
    h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t .
    \end{aligned}
    $$

    With reset after, the bias is (2, 3 units): the input bias, then the recurrent one
    (PyTorch's nn.GRU's form); without it, one bias (3 units,).

    Parameters
    ----------
    units : int
        The size $u$ of the state $h_t$ (and of the output at each step).
    activation : str or callable, default="tanh"
        The activation $g$ of the new state (or candidate).
    recurrent_activation : str or callable, default="sigmoid"
        The gates' activation $\sigma$.
    use_bias : bool, default=True
        Whether the gates add a learned bias $b$.
    kernel_initializer : str or initializer, default="glorot_uniform"
        How the input kernel $W$ (features, 3 units) is drawn.
    recurrent_initializer : str or initializer, default="orthogonal"
        How the recurrent kernel $U$ (units, 3 units) is drawn (an orthogonal matrix,
        Saxe, McClelland & Ganguli 2014).
    bias_initializer : str or initializer, default="zeros"
        How the bias starts.
    kernel_regularizer : regularizer, optional
        A penalty on the input kernel $W$ added to the loss.
    return_sequences : bool, default=False
        Return the state of every step (batch, steps, units), else the last one only.
    return_state : bool, default=False
        Also return the final state(s), as a list ``[output, h]`` (LSTM:
        ``[output, h, c]``), for a functional or subclassed model.
    go_backwards : bool, default=False
        Read the sequence from its end (the output is in that order too).
    stateful : bool, default=False
        The final states of a batch are the initial states of the next (call
        ``reset_states()`` between independent sequences); a batch of another size starts
        from zeros.
    reset_after : bool, default=True
        Apply the reset gate after the recurrent product (Keras's and PyTorch's form)
        rather than before it (Cho et al. 2014's).
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    gates = 3

    ARGUMENTS = {"reset_after": bool}

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, reset_after: bool = True, name: str | None = None):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         return_sequences, return_state, go_backwards, stateful, name)
        self.recurrent_activation = activations.get(recurrent_activation,
                                                    "recurrent_activation")
        self.reset_after = check_flag(reset_after, "GRU: reset_after")

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def run(self, x, states):
        if not (self.reset_after and self.fused()):
            return self.unrolled(x, states)
        h = ag.gru(x, self.kernel, self.recurrent_kernel, self.bias, states[0],
                   activations.registered_name(self.activation),
                   activations.registered_name(self.recurrent_activation))
        return h, [h[:, -1]]

    def input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def cell(self, xw_t, states):
        (h,) = states
        k = self.units
        s, g, u = self.recurrent_activation, self.activation, self.recurrent_kernel
        if self.reset_after:
            hu = ag.matmul(h, u)
            if self.bias is not None:
                hu = hu + self.bias[1]
            z = s(xw_t[:, :k] + hu[:, :k])
            r = s(xw_t[:, k:2 * k] + hu[:, k:2 * k])
            candidate = g(xw_t[:, 2 * k:] + r * hu[:, 2 * k:])
        else:
            hu = ag.matmul(h, u[:, :2 * k])
            z = s(xw_t[:, :k] + hu[:, :k])
            r = s(xw_t[:, k:2 * k] + hu[:, k:])
            candidate = g(xw_t[:, 2 * k:] + ag.matmul(r * h, u[:, 2 * k:]))
        return [z * h + (1 - z) * candidate]

    def get_config(self):
        config = super().get_config()
        return {"units": config.pop("units"), "activation": config.pop("activation"),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                **config, "reset_after": self.reset_after}


RECURRENT_CELLS = (SimpleRNN, LSTM, GRU)


def is_recurrent(layer) -> bool:
    """Whether ``layer`` runs through time step by step (SimpleRNN, LSTM, GRU, or a
    Bidirectional pair of them)."""
    return isinstance(layer, (_RNN, Bidirectional))


def _layer_from(layer, wrapper: str, recurrent: bool = False) -> Layer:
    """A layer, or one from its ``{"class_name", "config"}`` (model files)."""
    if isinstance(layer, dict):
        if set(layer) != {"class_name", "config"} or not isinstance(layer["config"], dict):
            raise ValueError(f"{wrapper}: layer must be a Layer or {{'class_name': ..., "
                             f"'config': {{...}}}}; got {layer!r}")
        layer = get(layer["class_name"], layer["config"])
    if not isinstance(layer, Layer):
        raise ValueError(f"{wrapper}: layer must be a Layer; got {type(layer).__name__}")
    if recurrent and not isinstance(layer, RECURRENT_CELLS):
        raise ValueError(f"{wrapper}: layer must be a SimpleRNN, LSTM or GRU; got "
                         f"{type(layer).__name__}")
    return layer


def _serialize(layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


_MERGE_MODES = ("concat", "sum", "mul", "ave")


class Bidirectional(Layer):
    r"""A bidirectional recurrent layer (Schuster & Paliwal 1997): ``layer`` reads the
    sequence forwards, a copy of it (its own weights) backwards, and their outputs
    $\overrightarrow{h}_t$, $\overleftarrow{h}_t$ are merged.  With return_sequences the
    backward output is put back in time order first, so that step $t$ sees the whole
    sequence.  Weights: the forward layer's, then the backward one's (as Keras).
    return_state gives ``[output, *forward states, *backward states]``.

    Parameters
    ----------
    layer : SimpleRNN, LSTM or GRU
        The forward layer; the backward one is a copy of its configuration.
    merge_mode : {"concat", "sum", "mul", "ave"}, default="concat"
        How the two outputs are merged: $[\overrightarrow{h}_t, \overleftarrow{h}_t]$, their
        sum, product or mean.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    ARGUMENTS = {"layer": IDENTIFIED, "merge_mode": one_of(["concat", "sum", "mul", "ave"])}

    def __init__(self, layer, merge_mode: str = "concat", name: str | None = None):
        super().__init__(name)
        self.forward_layer = _layer_from(layer, "Bidirectional", recurrent=True)
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {_MERGE_MODES}; got "
                             f"{merge_mode!r}")
        self.merge_mode = merge_mode
        config = {**self.forward_layer.get_config(), "name": None,
                  "go_backwards": not self.forward_layer.go_backwards}
        self.backward_layer = type(self.forward_layer)(**config)

    @property
    def layer(self):
        """The wrapped layer (the forward direction)."""
        return self.forward_layer

    def weight_shapes(self, input_shape):
        """(weight shapes in get_weights' order, output shape), without building."""
        forward, _ = self.forward_layer.weight_shapes(input_shape)
        return forward * 2, self.compute_output_shape(tuple(input_shape))

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        if self.merge_mode == "concat":
            shape = (*shape[:-1], 2 * shape[-1])
        return shape

    def build(self, input_shape, rng, dtype):
        self.forward_layer.build(input_shape, rng, dtype)
        self.backward_layer.build(input_shape, rng, dtype)
        self.params = self.forward_layer.params + self.backward_layer.params
        super().build(input_shape, rng, dtype)

    def regularization(self):
        terms = [t for t in (self.forward_layer.regularization(),
                             self.backward_layer.regularization()) if t is not None]
        return None if not terms else terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def call(self, x, training=False, initial_state=None):
        half = None if initial_state is None else len(initial_state) // 2
        forward = self.forward_layer.call(
            x, training, None if half is None else initial_state[:half])
        backward = self.backward_layer.call(
            x, training, None if half is None else initial_state[half:])
        states = []
        if self.forward_layer.return_state:
            states = forward[1:] + backward[1:]
            forward, backward = forward[0], backward[0]
        if self.forward_layer.return_sequences:
            backward = backward[:, ::-1]
        if self.merge_mode == "concat":
            out = ag.concatenate([forward, backward], axis=-1)
        elif self.merge_mode == "sum":
            out = forward + backward
        elif self.merge_mode == "mul":
            out = forward * backward
        else:
            out = (forward + backward) * 0.5
        return [out, *states] if states else out

    def get_config(self):
        return {"layer": _serialize(self.forward_layer), "merge_mode": self.merge_mode,
                **super().get_config()}


class TimeDistributed(Layer):
    """Applies ``layer`` to every step of a sequence, with the same weights:
    (batch, steps, ...) -> (batch, steps, layer's output), e.g. ``TimeDistributed(Dense(1))``
    after ``return_sequences=True`` for one output per step (Keras's TimeDistributed).

    Parameters
    ----------
    layer : Layer
        The layer applied at each step.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    ARGUMENTS = {"layer": IDENTIFIED}

    def __init__(self, layer, name: str | None = None):
        super().__init__(name)
        self.layer = _layer_from(layer, "TimeDistributed")

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"TimeDistributed expects sequences (steps, ...); got sample "
                             f"shape {tuple(input_shape)}")
        return (input_shape[0], *self.layer.compute_output_shape(tuple(input_shape[1:])))

    def weight_shapes(self, input_shape):
        """(weight shapes in get_weights' order, output shape), without building."""
        if len(input_shape) < 2:
            self.compute_output_shape(input_shape)
        known = self.layer.weight_shapes(tuple(input_shape[1:]))
        if known is None:
            return None
        weights, out = known
        return weights, (input_shape[0], *out)

    def build(self, input_shape, rng, dtype):
        if len(input_shape) < 2:
            self.compute_output_shape(input_shape)
        self.layer.build(tuple(input_shape[1:]), rng, dtype)
        self.params = self.layer.params
        self.input_shape = tuple(input_shape)
        self.output_shape = (input_shape[0], *self.layer.output_shape)
        self.built = True

    def call(self, x, training=False):
        n, steps = x.shape[:2]
        out = self.layer.call(ag.reshape(x, (n * steps, *x.shape[2:])), training)
        return ag.reshape(out, (n, steps, *out.shape[1:]))

    def regularization(self):
        return self.layer.regularization()

    def state_arrays(self):
        return self.layer.state_arrays()

    def reseed(self, seed_sequence):
        self.layer.reseed(seed_sequence)

    def get_config(self):
        return {"layer": _serialize(self.layer), **super().get_config()}


class Embedding(Layer):
    r"""A learned vector for each of ``input_dim`` tokens: integer sequences (batch, steps)
    -> (batch, steps, output_dim), $\text{out}_{n,t} = E_{x_{n,t}}$ (Keras's Embedding;
    Bengio et al. 2003's learned word vectors).  The gradient of a row of $E$ is the sum of
    the gradients of the positions holding its token.

    Parameters
    ----------
    input_dim : int
        The vocabulary's size: tokens are integers in $[0, \text{input\_dim})$.
    output_dim : int
        The length of each token's vector.
    embeddings_initializer : str or initializer, default="uniform"
        How the table $E$ starts: Keras's "uniform", $U(-0.05, 0.05)$.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    ARGUMENTS = {"input_dim": SIZE, "output_dim": SIZE, "embeddings_initializer": INITIALIZER}

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 name: str | None = None):
        super().__init__(name)
        self.input_dim = check_positive_int(input_dim, "Embedding: input_dim")
        self.output_dim = check_positive_int(output_dim, "Embedding: output_dim")
        initializers.get(embeddings_initializer, "embeddings_initializer")
        self.embeddings_initializer = embeddings_initializer

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def weight_shapes(self, input_shape):
        """(weight shapes in get_weights' order, output shape), without building."""
        return [(self.input_dim, self.output_dim)], self.compute_output_shape(input_shape)

    def build(self, input_shape, rng, dtype):
        self.embeddings = self._param(initializers.get(self.embeddings_initializer)(
            (self.input_dim, self.output_dim), rng), dtype)
        self.params = [self.embeddings]
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        return ag.embedding(x, self.embeddings)

    def get_config(self):
        return {"input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": self.embeddings_initializer, **super().get_config()}


RECURRENT_LAYERS = (SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed, Embedding)


# --------------------------------------------------------------------------------------
# PyTorch's layouts (documented permutations; the interop tests use them)
# --------------------------------------------------------------------------------------
def lstm_weights_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None) -> list:
    """Keras/nnlearn LSTM weights [kernel, recurrent_kernel, bias] from PyTorch's
    nn.LSTM (weight_ih_l0 (4u, f), weight_hh_l0 (4u, u), bias_ih_l0, bias_hh_l0): the
    gate order is the same (i, f, g, o), so kernel = W_ih^T, recurrent = W_hh^T and the
    bias is the sum of PyTorch's two biases."""
    weights = [np.asarray(weight_ih).T, np.asarray(weight_hh).T]
    if bias_ih is not None:
        weights.append(np.asarray(bias_ih) + np.asarray(bias_hh))
    return weights


def _rzn_to_zrn(a: np.ndarray, axis: int = 0) -> np.ndarray:
    r, z, n = np.split(np.asarray(a), 3, axis=axis)
    return np.concatenate([z, r, n], axis=axis)


def gru_weights_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None) -> list:
    """Keras/nnlearn GRU weights (reset_after=True) [kernel, recurrent_kernel, bias] from
    PyTorch's nn.GRU: PyTorch orders the gates r, z, n and Keras z, r, h, so the blocks
    are permuted to z, r, n; kernel = W_ih^T, recurrent = W_hh^T, bias = [b_ih, b_hh]
    (2, 3u).  PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) and h' = (1 - z) n
    + z h are Keras's reset_after equations."""
    weights = [_rzn_to_zrn(weight_ih).T, _rzn_to_zrn(weight_hh).T]
    if bias_ih is not None:
        weights.append(np.stack([_rzn_to_zrn(bias_ih), _rzn_to_zrn(bias_hh)]))
    return weights
