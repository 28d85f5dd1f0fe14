"""nnlearn.activations: float64 gradcheck, values at hand-picked points from the
published formulas (written here independently, in plain NumPy), extreme inputs, and
the registry's names and aliases."""

import math
import warnings

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import activations


Z = np.array([-1e4, -30.0, -2.0, -0.5, 0.5, 2.0, 30.0, 1e4])


ACTIVATION_VALUES = {  # name -> g(z) from the formula
    "linear": lambda z: z,
    "binary_step": lambda z: (z >= 0).astype(float),
    "sigmoid": lambda z: np.array([math.exp(-math.log1p(math.exp(-v))) if v > -700 else 0.0
                                   for v in z]),
    "tanh": lambda z: np.array([math.tanh(v) for v in z]),
    "arctan": lambda z: np.array([math.atan(v) for v in z]),
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.3 * z),
    "elu": lambda z: np.where(z > 0, z, np.array([math.expm1(min(v, 0)) for v in z])),
    "softplus": lambda z: np.array([v + math.log1p(math.exp(-v)) if v > 0
                                    else math.log1p(math.exp(v)) for v in z]),
    "silu": lambda z: z * np.array([1 / (1 + math.exp(-v)) if v > -700 else 0.0 for v in z]),
    # Klambauer et al. 2017: lambda z, or lambda alpha (e^z - 1), with their constants
    "selu": lambda z: 1.0507009873554805 * np.where(
        z > 0, z, 1.6732632423543772 * np.array([math.expm1(min(v, 0)) for v in z])),
    # Hendrycks & Gimpel 2016: z Phi(z), Phi(z) = erfc(-z / sqrt 2) / 2
    "gelu": lambda z: np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in z]),
}


def test_every_registered_activation_has_an_independent_value_check():
    assert set(ACTIVATION_VALUES) | {"softmax", "swish", "exponential"} == \
        set(activations.ACTIVATIONS)


def test_exponential_values_and_overflow():
    z = np.array([-800.0, -1.0, 0.0, 2.0])
    np.testing.assert_allclose(activations.exponential(nl.Tensor(z)).data,
                               [0.0, math.exp(-1), 1.0, math.exp(2)], rtol=1e-15)
    with np.errstate(over="ignore"):
        assert activations.exponential(nl.Tensor(np.array([800.0]))).data[0] == np.inf


def test_gelu_against_published_values():
    """GELU at the points of Hendrycks & Gimpel's figure 1, against z Phi(z) from the
    normal distribution's table (Phi(1) = 0.841345, Phi(2) = 0.977250, Phi(-1) =
    0.158655), and its derivative Phi(z) + z phi(z) at 0 and 1."""
    z = nl.Tensor(np.array([-1.0, 0.0, 1.0, 2.0]), requires_grad=True)
    h = activations.gelu(z)
    np.testing.assert_allclose(h.data, [-0.158655, 0.0, 0.841345, 2 * 0.977250], atol=1e-6)
    h.sum().backward()
    phi_1 = math.exp(-0.5) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(z.grad[1:3], [0.5, 0.841345 + phi_1], atol=1e-6)


def test_gelu_against_scipy_when_installed():
    special = pytest.importorskip("scipy.special")
    z = np.linspace(-8, 8, 161)
    np.testing.assert_allclose(activations.gelu(nl.Tensor(z)).data,
                               z * special.ndtr(z), rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", sorted(ACTIVATION_VALUES))
def test_activation_values_including_extremes(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = activations.get(name)(nl.Tensor(Z)).data
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ACTIVATION_VALUES[name](Z), rtol=1e-12, atol=1e-300)


def test_softmax_activation_and_aliases():
    z = np.array([[1.0, 2.0, 3.0], [1e4, 0.0, -1e4]])
    got = activations.get("softmax")(nl.Tensor(z)).data
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(got[0], e / e.sum(), rtol=1e-12)
    np.testing.assert_allclose(got[1], [1.0, 0.0, 0.0])
    assert activations.get("swish") is activations.get("silu")
    assert activations.get(None) is activations.linear


@pytest.mark.parametrize("name", sorted(set(activations.ACTIVATIONS) - {"binary_step"}))
def test_activation_gradcheck(name):
    rng = np.random.default_rng(0)
    x = rng.choice([-1, 1], (3, 4)) * rng.uniform(0.1, 2, (3, 4))  # away from kinks
    assert nl.gradcheck(activations.get(name), [nl.Tensor(x, requires_grad=True)])


def test_binary_step_passes_no_gradient():
    x = nl.Tensor([-1.0, 2.0], requires_grad=True)
    (activations.get("binary_step")(x) * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])  # only the product's own term


@pytest.mark.parametrize("name", ["selu", "gelu", "silu", "elu", "softplus"])
def test_against_pytorch_when_installed(name):
    """Values and derivatives against PyTorch's float64 functions (reference library)."""
    torch = pytest.importorskip("torch")
    reference = {"selu": torch.nn.functional.selu, "gelu": torch.nn.functional.gelu,
                 "silu": torch.nn.functional.silu, "elu": torch.nn.functional.elu,
                 "softplus": torch.nn.functional.softplus}[name]
    z = np.linspace(-6, 6, 121) + 0.013
    t = torch.tensor(z, requires_grad=True)
    reference(t).sum().backward()
    x = nl.Tensor(z, requires_grad=True)
    activations.get(name)(x).sum().backward()
    np.testing.assert_allclose(activations.get(name)(nl.Tensor(z)).data,
                               reference(torch.tensor(z)).numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_a_copied_or_pickled_model_keeps_the_registered_activations_and_its_plan():
    """A model sent to another process (a Dask worker) or deep-copied holds the
    registered activation objects themselves, so its loss stays fused and its step
    compiled: the same step, the same bits."""
    import copy
    import pickle

    from nnlearn.models import mlp

    for name in ("relu", "softmax", "tanh"):
        f = nl.activations.get(name)
        assert pickle.loads(pickle.dumps(f)) is f and copy.deepcopy(f) is f
    model = mlp(3, [4], 2, output_activation="softmax", seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.build((3,))
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert other.plan(8).explain() == model.plan(8).explain()
        assert other.fused_loss is not None


@pytest.mark.parametrize("name", sorted(activations.elementwise()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_is_finite_wherever_the_derivative_is(name, dtype):
    """At the dtype's extremes (and where the forward overflows) the backward rule gives
    the limit of the derivative, not 0 * inf = NaN."""
    big = np.finfo(dtype).max
    z = np.array([-big, -1e3, -1.0, 1.0, 1e3], dtype)
    if name != "exponential":  # e^z beyond the range: its derivative is infinite there
        z = np.append(z, big).astype(dtype)
    x = nl.Tensor(z, requires_grad=True)
    with np.errstate(over="ignore"):
        activations.get(name)(x).sum().backward()
    assert not np.isnan(x.grad).any(), (name, x.grad)


def test_registered_activations_are_one_object_when_copied():
    import copy
    import pickle

    for activation in set(activations.ACTIVATIONS.values()):
        assert pickle.loads(pickle.dumps(activation)) is activation
        assert copy.deepcopy(activation) is activation
