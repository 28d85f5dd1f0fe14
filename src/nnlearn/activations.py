r"""Activation functions, each declared once.

An activation $h = g(z)$ is applied element by element (softmax, over the class
axis, is the one exception).  Each entry of :data:`ACTIVATIONS` is an
:class:`Activation` holding two *element rules*, plain functions of numbers written with
NumPy's functions:

* ``function(z, one)``: $g(z)$;
* ``backward(dz, g, z, h, one)``: $\frac{\partial L}{\partial z} = g \cdot g'(z)$,
  given the gradient ``g`` of the loss with respect to the output $h$.  Where
  $g'$ is a function of the output (sigmoid, tanh, relu, ...) the rule reads it
  from ``h``, so nothing but the output has to be kept for the backward pass
  (``needs_input=False``); otherwise (GELU, SiLU, ...) it reads ``z``.  The unused first
  argument ``dz`` is the array the result is written to (the convention of
  :mod:`nnlearn.lowering.loops`).

``one`` is 1 in the arrays' dtype, so that a float32 computation stays in float32.
The same two rules are *lowered* to every path a step can take (see
:mod:`nnlearn.lowering.planner`): evaluated on whole arrays by NumPy in the engine
(:func:`nnlearn.autograd.activation`), run as a loop of :mod:`nnlearn.lowering.loops`
for the engine's backward pass, and inlined element by element into the fused Dense step
(:mod:`nnlearn.lowering.dense_step`); the ONNX export runs ``function`` once on a
symbolic value whose operations emit ONNX nodes (:mod:`nnlearn.interop.onnx`).  Adding an entry here
is all it takes for a new activation to work everywhere: layers, the compiled step,
model files, ONNX files, the playground's menu and the documentation.

| name | $g(z)$ | $g'(z)$ |
|------|--------|---------|
| linear | $z$ | $1$ |
| binary_step | $1$ if $z \ge 0$, else $0$ | $0$ (no gradient flows) |
| sigmoid | $\sigma(z) = \dfrac{1}{1 + e^{-z}}$ | $h (1 - h)$ |
| tanh | $\tanh z$ | $1 - h^2$ |
| arctan | $\arctan z$ | $\dfrac{1}{1 + z^2}$ |
| relu | $\max(z, 0)$ | $1$ if $h > 0$, else $0$ |
| leaky_relu | $z$ if $z > 0$, else $0.3 z$ | $1$ or $0.3$ |
| elu | $z$ if $z > 0$, else $e^z - 1$ | $1$ or $h + 1$ |
| selu | $\lambda z$ if $z > 0$, else $\lambda\alpha (e^z - 1)$ | $\lambda$ or $h + \lambda\alpha$ |
| softplus | $\ln(1 + e^z)$ | $\sigma(z)$ |
| silu / swish | $z \sigma(z)$ | $\sigma(z)\,(1 + z (1 - \sigma(z)))$ |
| gelu | $z \Phi(z)$ | $\Phi(z) + z \varphi(z)$ |
| exponential | $e^z$ | $h$ |
| softmax | $s_j = e^{z_j} / \sum_k e^{z_k}$ | $s_j (\delta_{jk} - s_k)$ |

Sources: the logistic sigmoid and tanh of the early multilayer perceptrons (Rumelhart,
Hinton & Williams 1986); relu (Nair & Hinton 2010; Glorot, Bordes & Bengio 2011); leaky
relu (Maas, Hannun & Ng 2013); elu (Clevert, Unterthiner & Hochreiter 2016); selu,
self-normalizing with $\lambda \approx 1.0507$, $\alpha \approx 1.6733$
(Klambauer, Unterthiner, Mayr & Hochreiter 2017); softplus
(Dugas et al. 2001); silu/swish (Elfwing, Uchibe & Doya 2018; Ramachandran, Zoph & Le
2017); gelu (Hendrycks & Gimpel 2016), with $\Phi$ the standard normal
distribution function and $\varphi$ its density.
"""

from __future__ import annotations

import math

import numpy as np

from ._registry import lookup, name_of
from .numerics import erfc

__all__ = ["Activation", "ACTIVATIONS", "get", "serialize", "registered_name", "linear",
           "binary_step", "sigmoid", "tanh", "arctan", "relu", "leaky_relu", "elu", "selu",
           "softplus", "silu", "swish", "gelu", "exponential", "softmax"]

# The engine's ops that make an activation's graph node: nnlearn.autograd.ops registers
# itself here when it is imported (it reads the declarations below; this module, the
# declarations, never imports the engine).
_engine = None


def register_engine(ops) -> None:
    """Called once, by :mod:`nnlearn.autograd.ops`: calling an activation on a Tensor
    then gives ``ops.activation(z, activation)`` (``ops.softmax`` for the softmax)."""
    global _engine
    _engine = ops


class _Registered:
    """A registered activation is one object: the same after a copy or a pickle round
    trip (``get`` by its name)."""

    def __reduce__(self):
        return get, (self.name,)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class Activation(_Registered):
    """An element-wise activation $h = g(z)$, declared once (see the module).

    Calling it on a Tensor (or array) gives the engine's node for $g(z)$.  A
    registered activation is one object, the same after a copy or a pickle round trip.

    Parameters
    ----------
    name : str
        The name it is registered and saved under.
    function : callable ``(z, one) -> g(z)``
        The element rule of $g$.
    backward : callable ``(dz, g, z, h, one) -> g * g'(z)``
        The element rule of the backward pass.
    needs_input : bool
        Whether ``backward`` reads ``z``; False when it reads only ``h`` (and ``g``), so
        the forward pass may overwrite ``z`` with ``h``.
    costly : bool
        Whether the rules call a transcendental function (exp, tanh, erfc, ...): a
        compiled loop evaluates those one element at a time, where NumPy vectorizes
        them (the planner sends large batches of such layers to the engine).
    overflows : bool, default True
        Whether ``function`` may overflow or underflow on its way to a finite value
        ($e^{-z}$ of a large $|z|$ in the sigmoid): the engine then evaluates it with
        NumPy's overflow and underflow warnings off.  False for rules that never do
        (relu, tanh, ...), which skips that context (a few microseconds a call: 5% of a
        deep narrow network's step on the engine).
    """

    elementwise = True

    def __init__(self, name: str, function, backward, needs_input: bool, costly: bool,
                 overflows: bool = True):
        self.name, self.function, self.backward = name, function, backward
        self.needs_input, self.costly = bool(needs_input), bool(costly)
        self.overflows = bool(overflows)
        self.__doc__ = function.__doc__
        self.__name__ = name

    def __call__(self, z):
        return _engine.activation(z, self)

    def __repr__(self):
        return f"<activation {self.name}>"


class Softmax(_Registered):
    r"""Softmax over the last (class) axis: $s_j = e^{z_j} / \sum_k e^{z_k}$, the
    output of a multiclass classifier (Bridle 1990); not element-wise, so the compiled
    step treats it as the link of the cross-entropy rather than as a hidden activation."""

    name, elementwise, __name__ = "softmax", False, "softmax"

    def __call__(self, z):
        return _engine.softmax(z, axis=-1)

    def __repr__(self):
        return "<activation softmax>"


# -- the element rules ---------------------------------------------------------------------
# Each is a function of numbers that NumPy also evaluates on whole arrays: arithmetic and
# NumPy's functions only, no branches on values (a comparison times a value instead), the
# constants written in (a rule's source is all the kernel cache keys its loops by).

def _linear(z, one):
    """The identity: a layer without a non-linearity."""
    return z


def _linear_backward(dz, g, z, h, one):
    return g


def _binary_step(z, one):
    r"""The Heaviside step, $1$ for $z \ge 0$ else $0$ (the threshold unit of McCulloch &
    Pitts 1943).  Its derivative is 0 wherever it exists: no gradient flows through it, which is
    why the perceptron rule exists."""
    return (z >= one - one) * one


def _binary_step_backward(dz, g, z, h, one):
    return g * (one - one)


def _sigmoid(z, one):
    r"""The logistic function $\sigma(z) = 1 / (1 + e^{-z})$; $0$ where $e^{-z}$ overflows
    (the true value is below the dtype's smallest normal number there)."""
    return one / (one + np.exp(-z))


def _sigmoid_backward(dz, g, z, h, one):
    return g * h * (one - h)


def _tanh(z, one):
    r"""The hyperbolic tangent $\tanh z = (e^z - e^{-z}) / (e^z + e^{-z})$."""
    return np.tanh(z)


def _tanh_backward(dz, g, z, h, one):
    return g * (one - h * h)


def _arctan(z, one):
    r"""$\arctan z$, an S-shaped activation with range $(-\pi/2, \pi/2)$."""
    return np.arctan(z)


def _arctan_backward(dz, g, z, h, one):
    return g / (one + z * z)


def _relu(z, one):
    r"""The rectified linear unit $\max(z, 0)$ (Nair & Hinton 2010); NaN stays NaN."""
    return np.maximum(z, one - one)


def _relu_backward(dz, g, z, h, one):
    return g * (h > one - one)


def _leaky_relu(z, one):
    r"""$z$ for $z > 0$, $0.3 z$ otherwise (Maas, Hannun & Ng 2013; Keras's default slope)."""
    return np.maximum(z, one - one) + 0.3 * one * np.minimum(z, one - one)


def _leaky_relu_backward(dz, g, z, h, one):
    return g * ((z > one - one) + 0.3 * one * (z <= one - one))


def _elu(z, one):
    r"""The exponential linear unit: $z$ for $z > 0$, $e^z - 1$ otherwise (Clevert et al.
    2016)."""
    return np.maximum(z, one - one) + np.expm1(np.minimum(z, one - one))


def _elu_backward(dz, g, z, h, one):
    return g * ((z > one - one) + (z <= one - one) * (np.minimum(h, one - one) + one))


def _selu(z, one):
    r"""The scaled exponential linear unit: $\lambda z$ for $z > 0$, $\lambda\alpha (e^z - 1)$
    otherwise, $\lambda = 1.0507009873554805$, $\alpha = 1.6732632423543772$ (the constants
    that keep activations at mean 0 and variance 1; Klambauer et al. 2017)."""
    return (1.0507009873554805 * one) * np.maximum(z, one - one) \
        + (1.7580993408473766 * one) * np.expm1(np.minimum(z, one - one))


def _selu_backward(dz, g, z, h, one):
    return g * ((h > one - one) * (1.0507009873554805 * one)
                + (h <= one - one) * (np.minimum(h, one - one) + 1.7580993408473766 * one))


def _softplus(z, one):
    r"""$\ln(1 + e^z) = \max(z, 0) + \ln(1 + e^{-|z|})$, finite for any $z$ (Dugas et al.
    2001)."""
    return np.maximum(z, one - one) + np.log1p(np.exp(-np.abs(z)))


def _softplus_backward(dz, g, z, h, one):
    return g * (one / (one + np.exp(-z)))


def _silu(z, one):
    r"""$z \sigma(z)$, the sigmoid-weighted linear unit (Elfwing, Uchibe & Doya 2018; also
    called swish, Ramachandran, Zoph & Le 2017)."""
    return z * (one / (one + np.exp(-z)))


def _silu_backward(dz, g, z, h, one):
    return g * (one / (one + np.exp(-z))) * (one + z * (one - one / (one + np.exp(-z))))


def _exponential(z, one):
    r"""$e^z$, the output of a Poisson regression (the log link's inverse)."""
    return np.exp(z)


def _exponential_backward(dz, g, z, h, one):
    return g * h


def _gelu(z, one):
    r"""$z \Phi(z)$, $\Phi(z) = \tfrac12 \operatorname{erfc}(-z / \sqrt 2)$ the standard normal
    distribution function (the exact form of the Gaussian error linear unit, Hendrycks &
    Gimpel 2016; erfc keeps the left tail accurate where $1 + \operatorname{erf}(z / \sqrt 2)$
    would cancel)."""
    return z * ((0.5 * one) * erfc(z * (-0.7071067811865476 * one)))


def _gelu_backward(dz, g, z, h, one):
    return g * ((0.5 * one) * erfc(z * (-0.7071067811865476 * one))
                + z * (0.3989422804014327 * one) * np.exp(-(0.5 * one) * z * z))


linear = Activation("linear", _linear, _linear_backward, needs_input=False, costly=False,
                    overflows=False)
binary_step = Activation("binary_step", _binary_step, _binary_step_backward,
                         needs_input=False, costly=False, overflows=False)
sigmoid = Activation("sigmoid", _sigmoid, _sigmoid_backward, needs_input=False, costly=True)
tanh = Activation("tanh", _tanh, _tanh_backward, needs_input=False, costly=True,
                  overflows=False)
arctan = Activation("arctan", _arctan, _arctan_backward, needs_input=True, costly=True,
                    overflows=False)
relu = Activation("relu", _relu, _relu_backward, needs_input=False, costly=False,
                  overflows=False)
leaky_relu = Activation("leaky_relu", _leaky_relu, _leaky_relu_backward, needs_input=True,
                        costly=False, overflows=False)
elu = Activation("elu", _elu, _elu_backward, needs_input=True, costly=True)
selu = Activation("selu", _selu, _selu_backward, needs_input=False, costly=True)
softplus = Activation("softplus", _softplus, _softplus_backward, needs_input=True,
                      costly=True)
silu = Activation("silu", _silu, _silu_backward, needs_input=True, costly=True)
swish = silu
exponential = Activation("exponential", _exponential, _exponential_backward,
                         needs_input=False, costly=True)
gelu = Activation("gelu", _gelu, _gelu_backward, needs_input=True, costly=True)
softmax = Softmax()

#: Every activation by name (the first name of an object is the one it is saved under).
ACTIVATIONS = {
    "linear": linear, "binary_step": binary_step, "sigmoid": sigmoid, "tanh": tanh,
    "arctan": arctan, "relu": relu, "leaky_relu": leaky_relu, "elu": elu, "selu": selu,
    "softplus": softplus, "silu": silu, "swish": swish, "gelu": gelu,
    "exponential": exponential, "softmax": softmax,
}

assert math.isclose(0.7071067811865476, 1 / math.sqrt(2))        # the constants written in
assert math.isclose(0.3989422804014327, 1 / math.sqrt(2 * math.pi))  # the rules above
assert math.isclose(1.7580993408473766, 1.0507009873554805 * 1.6732632423543772)


def elementwise() -> dict:
    """The element-wise activations, name -> Activation, one name per activation (those a
    compiled step can inline)."""
    table = {}
    for name, activation in ACTIVATIONS.items():
        if activation.elementwise and activation not in table.values():
            table[name] = activation
    return table


def get(identifier, argument: str = "activation"):
    """The activation named ``identifier`` (None means linear), or a callable as given."""
    if identifier is None:
        return linear
    if isinstance(identifier, str) and identifier.strip().lower() in ("none", "identity"):
        raise ValueError(f"{argument}: unknown activation {identifier!r}. For no activation "
                         f"(the identity), pass None or 'linear'.")
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
