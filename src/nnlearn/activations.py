"""Activation functions by name, callable on Tensors.

Each is an op of :mod:`nnlearn.autograd` (forward and derivative side by side there):

==============  ======================================  ==================================
name            g(z)                                    g'(z)
==============  ======================================  ==================================
linear          z                                       1
binary_step     1 if z >= 0 else 0                      0 (no gradient flows)
sigmoid         1 / (1 + e^-z)                          g (1 - g)
tanh            (e^z - e^-z) / (e^z + e^-z)             1 - g^2
arctan          arctan z                                1 / (1 + z^2)
relu            max(z, 0)                               1 if z > 0 else 0
leaky_relu      z if z > 0 else alpha z  (alpha 0.3)    1 or alpha
elu             z if z > 0 else alpha (e^z - 1)         1 or g + alpha
softplus        ln(1 + e^z)                             sigmoid(z)
silu / swish    z sigmoid(z)                            s + z s (1 - s)
softmax         e^z_j / sum_k e^z_k (last axis)         s_j (delta_jk - s_k)
==============  ======================================  ==================================
"""

from __future__ import annotations

from . import autograd as ag
from ._registry import lookup, name_of

__all__ = ["get", "serialize", "registered_name", "linear", "binary_step", "sigmoid", "tanh",
           "arctan", "relu", "leaky_relu", "elu", "softplus", "silu", "swish", "softmax"]


def linear(z):
    """The identity: a layer without a non-linearity."""
    return z


def silu(z):
    """z * sigmoid(z), the Sigmoid Linear Unit (Elfwing et al. 2018), also called swish
    (Ramachandran et al. 2017)."""
    return z * ag.sigmoid(z)


swish = silu
binary_step = ag.binary_step
sigmoid = ag.sigmoid
tanh = ag.tanh
arctan = ag.arctan
relu = ag.relu
leaky_relu = ag.leaky_relu
elu = ag.elu
softplus = ag.softplus


def softmax(z):
    """Softmax over the last axis (the class axis)."""
    return ag.softmax(z, axis=-1)


ACTIVATIONS = {
    "linear": linear, "binary_step": binary_step, "sigmoid": sigmoid, "tanh": tanh,
    "arctan": arctan, "relu": relu, "leaky_relu": leaky_relu, "elu": elu,
    "softplus": softplus, "silu": silu, "swish": swish, "softmax": softmax,
}


def get(identifier, argument: str = "activation"):
    """The activation named ``identifier`` (None means linear), or a callable as given."""
    if identifier is None:
        return linear
    return lookup("activation", ACTIVATIONS, identifier, argument)


def registered_name(activation) -> str | None:
    """The name ``activation`` is registered under, or None for a custom function."""
    return name_of(ACTIVATIONS, activation)


def serialize(activation) -> str:
    """The registered name of an activation (for model files)."""
    name = registered_name(activation)
    if name is None:
        raise ValueError(f"cannot save custom activation {activation!r}: only the named "
                         f"activations ({', '.join(ACTIVATIONS)}) can be stored in a model file")
    return name
