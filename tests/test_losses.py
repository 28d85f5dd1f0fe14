"""nnlearn.losses: values against Keras's published formulas (written here in plain
NumPy), float64 gradcheck, extreme predictions, the fused forms on logits, the loss
objects' names, aliases and serialization, and the checks on targets."""

import warnings

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import activations, losses


EPS = 1e-7


Y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


P = np.array([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]])


def keras_formula(name, y, p):
    """Per-sample losses from Keras's published definitions, then the batch mean."""
    if name == "mean_squared_error":
        v = ((y - p) ** 2).mean(-1)
    elif name == "mean_absolute_error":
        v = np.abs(y - p).mean(-1)
    elif name == "mean_absolute_percentage_error":
        v = 100 * (np.abs(y - p) / np.maximum(np.abs(y), EPS)).mean(-1)
    elif name == "mean_squared_logarithmic_error":
        v = ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2).mean(-1)
    elif name in ("hinge", "squared_hinge"):
        s = 2 * y - 1
        v = np.maximum(1 - s * p, 0) ** (2 if name == "squared_hinge" else 1)
        v = v.mean(-1)
    elif name == "categorical_hinge":
        v = np.maximum(((1 - y) * p).max(-1) - (y * p).sum(-1) + 1, 0)
    elif name == "log_cosh":
        v = np.log(np.cosh(p - y)).mean(-1)
    elif name == "binary_crossentropy":
        q = np.clip(p, EPS, 1 - EPS)
        v = -(y * np.log(q) + (1 - y) * np.log(1 - q)).mean(-1)
    elif name == "categorical_crossentropy":
        q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
        v = -(y * np.log(q)).sum(-1)
    elif name == "kl_divergence":
        a, b = np.clip(y, EPS, 1), np.clip(p, EPS, 1)
        v = (a * np.log(a / b)).sum(-1)
    elif name == "poisson":
        v = (p - y * np.log(p + EPS)).mean(-1)
    elif name == "cosine_similarity":
        v = -(y * p).sum(-1) / (np.linalg.norm(y, axis=-1) * np.linalg.norm(p, axis=-1))
    return v.mean()


LOSS_NAMES = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
              "mean_squared_logarithmic_error", "hinge", "squared_hinge",
              "categorical_hinge", "log_cosh", "binary_crossentropy",
              "categorical_crossentropy", "kl_divergence", "poisson", "cosine_similarity"]


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_loss_matches_keras_formula(name):
    got = losses.get(name)(Y, nl.Tensor(P)).item()
    assert got == pytest.approx(keras_formula(name, Y, P), rel=1e-10)


@pytest.mark.parametrize("name", LOSS_NAMES + ["sparse_categorical_crossentropy"])
def test_loss_gradcheck(name):
    p = nl.Tensor(P + 0.013, requires_grad=True)  # away from the hinge kinks
    y = np.array([1, 0]) if name == "sparse_categorical_crossentropy" else Y
    if name == "mean_absolute_percentage_error":
        y = Y + 0.5  # y = 0 divides by epsilon = 1e-7: too steep for finite differences
    assert nl.gradcheck(lambda t: losses.get(name)(y, t), [p])


def test_sparse_categorical_equals_categorical():
    a = losses.get("sparse_categorical_crossentropy")(np.array([1, 0]), nl.Tensor(P)).item()
    b = losses.get("categorical_crossentropy")(Y, nl.Tensor(P)).item()
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_stay_finite_at_extreme_predictions(name):
    p = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1e-30]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = nl.Tensor(p, requires_grad=True)
        loss = losses.get(name)(Y, t)
        loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(t.grad))


def test_aliases_and_close_match_suggestion():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("logcosh"), losses.LogCosh)
    assert isinstance(losses.get("kullback_leibler_divergence"), losses.KLDivergence)
    assert isinstance(losses.get("cosine_proximity"), losses.CosineSimilarity)
    assert losses.get("mse").name == "mean_squared_error"
    with pytest.raises(ValueError, match="Did you mean 'categorical_crossentropy'"):
        losses.get("categorical_crossentropi")
    with pytest.raises(ValueError, match="activation.*Did you mean 'relu'"):
        activations.get("rellu")


def test_fused_forms_equal_the_clipped_losses_away_from_the_clip():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 3))
    y = np.eye(3)[[0, 2, 1, 1, 0]]
    p = nl.softmax(nl.Tensor(z))
    fused = losses.CategoricalCrossentropy().from_logits_of("softmax")
    assert fused(y, nl.Tensor(z)).item() == pytest.approx(
        losses.categorical_crossentropy(y, p).item(), rel=1e-9)
    fused = losses.SparseCategoricalCrossentropy().from_logits_of("softmax")
    assert fused(np.array([0, 2, 1, 1, 0]), nl.Tensor(z)).item() == pytest.approx(
        losses.categorical_crossentropy(y, p).item(), rel=1e-9)
    fused = losses.BinaryCrossentropy().from_logits_of("sigmoid")
    t = (rng.random((5, 3)) > 0.5).astype(float)
    assert fused(t, nl.Tensor(z)).item() == pytest.approx(
        losses.binary_crossentropy(t, nl.sigmoid(nl.Tensor(z))).item(), rel=1e-9)
    # from_logits=True is the same fused form, given by the user
    assert losses.BinaryCrossentropy(from_logits=True)(t, nl.Tensor(z)).item() == \
        fused(t, nl.Tensor(z)).item()
    # no fused form: another loss, another activation, a loss already on logits
    assert losses.MeanSquaredError().from_logits_of("softmax") is None
    assert losses.CategoricalCrossentropy().from_logits_of("sigmoid") is None
    assert losses.CategoricalCrossentropy(from_logits=True).from_logits_of("softmax") is None


# -- loss objects ----------------------------------------------------------------------------
def test_loss_objects_get_and_serialize_round_trip():
    for name in sorted(set(losses.LOSSES)):
        loss = losses.get(name)
        again = losses.get(losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
    loss = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert loss.from_logits and loss.name == "categorical_crossentropy"
    assert isinstance(losses.get(losses.Hinge), losses.Hinge)


def test_a_custom_loss_is_wrapped_trains_but_cannot_be_saved():
    def halved_mse(y_true, y_pred):
        return 0.5 * losses.mean_squared_error(y_true, y_pred)

    loss = losses.get(halved_mse)
    assert isinstance(loss, losses.LossFunctionWrapper) and loss.name == "halved_mse"
    assert loss.from_logits_of("sigmoid") is None
    p = nl.Tensor(np.array([[1.0], [3.0]]))
    assert loss(np.array([0.0, 1.0]), p).item() == pytest.approx(0.5 * (1 + 4) / 2)
    with pytest.raises(ValueError, match="cannot save custom loss"):
        losses.serialize(loss)
    with pytest.raises(TypeError, match="loss must be callable"):
        losses.LossFunctionWrapper(3)


def test_losses_check_their_targets_naming_the_argument():
    with pytest.raises(ValueError, match="y_val must be one-hot of shape \\(n, 3\\).*integer"):
        losses.CategoricalCrossentropy().check_targets(np.array([0, 1, 2]), 3, "y_val")
    with pytest.raises(ValueError, match="labels must be integers in \\[0, 3\\)"):
        losses.SparseCategoricalCrossentropy().check_targets(np.array([0, 3]), 3)
    losses.SparseCategoricalCrossentropy().check_targets(np.array([0, 2]), 3)  # fine
    losses.MeanSquaredError().check_targets(np.array([[7.5]]), 1)  # any values
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*got values from 1 to 2"):
        losses.BinaryCrossentropy().check_targets(np.array([1, 2, 1]), 1)
    losses.BinaryCrossentropy().check_targets(np.array([0.0, 0.3, 1.0]), 1)  # soft targets
    with pytest.raises(ValueError, match=r"1 unit; got values from 0 to 1 \(one output "
                                         "unit: .*sigmoid"):
        losses.SparseCategoricalCrossentropy().check_targets(np.array([0, 1]), 1)
