"""The functional models the tests of nnlearn.models.functional and of their ONNX export
share: the three of issue 34 (built the same way in nnlearn and in Keras: ``lib`` is
either), random graphs, and data for them."""

import numpy as np

import nnlearn as nl
from nnlearn import layers


# -- the three models of the issue, built the same way in nnlearn and in Keras --------------
def residual_mlp(lib):
    """x -> Dense(tanh) -> Dense -> Add with x -> relu -> Dense(softmax) (He et al. 2016)."""
    x = lib.Input((6,), name="x")
    h = lib.layers.Dense(6, activation="tanh", name="hidden")(x)
    h = lib.layers.Dense(6, name="residual")(h)
    h = lib.layers.Activation("relu", name="relu")(lib.layers.Add(name="add")([x, h]))
    out = lib.layers.Dense(3, activation="softmax", name="out")(h)
    return [x], [out]


def two_in_two_out(lib):
    """Two inputs concatenated, a gate (Multiply, Subtract), a regression head and a
    binary head."""
    a, b = lib.Input((3,), name="a"), lib.Input((4,), name="b")
    joined = lib.layers.Concatenate(name="join")([a, b])
    h = lib.layers.Dense(5, activation="relu", name="trunk")(joined)
    g = lib.layers.Dense(5, activation="sigmoid", name="gate")(b)
    gated = lib.layers.Multiply(name="gated")([h, g])
    diff = lib.layers.Subtract(name="diff")([gated, h])
    reg = lib.layers.Dense(1, name="reg")(diff)
    cls = lib.layers.Dense(2, activation="sigmoid", name="cls")(
        lib.layers.Concatenate(name="both")([gated, diff]))
    return [a, b], [reg, cls]


def shared_siamese(lib):
    """One Dense layer applied to both inputs (shared weights), merged every way."""
    a, b = lib.Input((4,), name="a"), lib.Input((4,), name="b")
    shared = lib.layers.Dense(3, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    merged = [lib.layers.Average(name="average")([ha, hb]),
              lib.layers.Maximum(name="maximum")([ha, hb]),
              lib.layers.Minimum(name="minimum")([ha, hb]),
              lib.layers.Dot(axes=1, normalize=True, name="cosine")([ha, hb]),
              lib.layers.Dot(axes=1, name="dot")([ha, hb])]
    out = lib.layers.Dense(1, activation="sigmoid", name="out")(
        lib.layers.Concatenate(name="all")(merged))
    return [a, b], [out]


def random_graph(seed: int, dtype="float32"):
    """A random functional model: inputs, Dense layers (one shared at times) and merges
    over the tensors made so far, one or two outputs."""
    rng = np.random.default_rng(seed)
    width = int(rng.integers(2, 5))
    inputs = [nl.Input(width, name=f"x{k}") for k in range(int(rng.integers(1, 3)))]
    tensors = list(inputs)
    shared = layers.Dense(width, activation="tanh")
    for _ in range(int(rng.integers(2, 7))):
        kind = rng.integers(0, 4)
        picks = [tensors[int(i)] for i in rng.integers(0, len(tensors), 2)]
        if kind == 0:
            tensors.append(layers.Dense(width, activation=str(rng.choice(
                ["relu", "sigmoid", "gelu", "softplus", "linear"])))(picks[0]))
        elif kind == 1:
            tensors.append(shared(picks[0]))
        elif kind == 2:
            merge = [layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum,
                     layers.Minimum][int(rng.integers(0, 6))]
            tensors.append(merge()(picks))
        else:
            tensors.append(layers.Dense(width)(layers.Concatenate()(picks)))
    heads = [layers.Dense(2, activation="softmax")(tensors[-1])]
    if rng.random() < 0.5:
        heads.append(layers.Dense(1)(layers.Concatenate()([tensors[-1], tensors[len(inputs)]])))
    return nl.Model(inputs, heads, seed=seed, dtype=dtype)  # an input no head reads stays an input


MODELS = {
    "residual": (residual_mlp, {"out": "categorical_crossentropy"}, None),
    "two_in_two_out": (two_in_two_out, {"reg": "mse", "cls": "binary_crossentropy"},
                       {"reg": 0.3, "cls": 1.7}),
    "shared": (shared_siamese, {"out": "binary_crossentropy"}, None),
}


def data_for(inputs, outputs, n=7, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((n, *t.shape[1:])) for t in inputs]
    ys = []
    for t in outputs:
        units = t.shape[-1]
        if t.name == "out" and units == 3:
            ys.append(np.eye(3)[rng.integers(0, 3, n)])
        elif t.name in ("cls", "out"):
            ys.append(rng.integers(0, 2, (n, units)).astype(np.float64))
        else:
            ys.append(rng.standard_normal((n, units)))
    return xs, ys


def as_list(outputs) -> list:
    return outputs if isinstance(outputs, list) else [outputs]


def build_nnlearn(name, seed=0):
    make, loss, weights = MODELS[name]
    inputs, outputs = make(nl)
    model = nl.Model(inputs, outputs, seed=seed, dtype="float64")
    model.compile(nl.optimizers.SGD(0.1), loss=loss, loss_weights=weights)
    return model, inputs, outputs


# -- Keras 3 (torch backend): outputs, gradients, one SGD step ------------------------------------
