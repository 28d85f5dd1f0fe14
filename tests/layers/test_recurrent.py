"""Recurrent networks: the fused BPTT ops (simple_rnn, lstm, gru, embedding) pass float64
central-difference gradient checks; the layers' fused path equals their unrolled
engine graph (values and gradients); outputs equal Keras's (torch backend) with the same
weights and PyTorch's nn.LSTM/nn.GRU after the documented permutation (skipped without
them), gradients included for PyTorch; the orthogonal initializer; the wrappers,
states, model files and argument errors."""

import io
import os

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import layers
from nnlearn.layers.recurrent import gru_weights_from_torch, lstm_weights_from_torch


def tensor(rng, shape, scale=0.5):
    return nl.Tensor(rng.standard_normal(shape) * scale, requires_grad=True,
                     dtype=np.float64)


# -- the ops: gradient checks ------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_simple_rnn_gradcheck(activation, with_bias):
    rng = np.random.default_rng(0)
    x, w, u, b, h0 = (tensor(rng, s) for s in [(2, 5, 3), (3, 4), (4, 4), (4,), (2, 4)])
    if with_bias:
        assert nl.gradcheck(lambda *a: nl.simple_rnn(*a, activation=activation),
                            [x, w, u, b, h0])
    else:
        assert nl.gradcheck(lambda x, w, u: nl.simple_rnn(x, w, u, activation=activation),
                            [x, w, u])


@pytest.mark.parametrize("activation, recurrent", [("tanh", "sigmoid"), ("relu", "tanh"),
                                                   ("linear", "sigmoid")])
def test_lstm_gradcheck_through_states_and_cell_states(activation, recurrent):
    rng = np.random.default_rng(1)
    x, w, u, b, h0, c0 = (tensor(rng, s) for s in [(2, 4, 3), (3, 12), (3, 12), (12,),
                                                     (2, 3), (2, 3)])

    def fn(*args):
        h, c = nl.lstm(*args, activation=activation, recurrent_activation=recurrent)
        return h * 2 + c  # both outputs' gradients reach the op

    assert nl.gradcheck(fn, [x, w, u, b, h0, c0])
    assert nl.gradcheck(lambda x, w, u: nl.lstm(x, w, u)[0], [x, w, u])


@pytest.mark.parametrize("activation, recurrent", [("tanh", "sigmoid"), ("relu", "tanh")])
def test_lstm_backward_in_blocks_of_steps_is_gradchecked(monkeypatch, activation, recurrent):
    """The NumPy steps' backward pass computes its per-step factors for blocks of steps:
    blocks of 2 steps over 5 (the last one short) must pass the same gradcheck."""
    from nnlearn import planner
    from nnlearn.autograd import recurrent as ops

    monkeypatch.setattr(planner, "recurrent_cell_reason", lambda dtype: "the NumPy steps")

    rng = np.random.default_rng(4)
    x, w, u, b, h0, c0 = (tensor(rng, s) for s in [(2, 5, 3), (3, 12), (3, 12), (12,),
                                                     (2, 3), (2, 3)])
    monkeypatch.setattr(ops, "_BLOCK_ELEMENTS", 2 * 2 * 12)  # 2 steps of (batch 2, 4 x 3)

    def fn(*args):
        h, c = nl.lstm(*args, activation=activation, recurrent_activation=recurrent)
        return h * 2 + c

    assert nl.gradcheck(fn, [x, w, u, b, h0, c0])


@pytest.mark.parametrize("with_bias", [True, False])
def test_gru_gradcheck(with_bias):
    rng = np.random.default_rng(2)
    x, w, u, b, h0 = (tensor(rng, s) for s in [(3, 4, 2), (2, 9), (3, 9), (2, 9), (3, 3)])
    if with_bias:
        assert nl.gradcheck(nl.gru, [x, w, u, b, h0])
    else:
        assert nl.gradcheck(lambda x, w, u: nl.gru(x, w, u), [x, w, u])


def test_embedding_gradcheck_sums_repeated_rows():
    rng = np.random.default_rng(3)
    table = tensor(rng, (5, 3))
    indices = np.array([[0, 1, 1], [4, 0, 1]])
    assert nl.gradcheck(lambda e: nl.embedding(indices, e), [table])
    out = nl.embedding(indices.astype(np.float32), table)
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(table.grad[:, 0], [2, 3, 0, 0, 1])  # counts per token


def test_one_step_equals_the_cell_equations_by_hand():
    rng = np.random.default_rng(4)
    x, w, u, b, h0, c0 = (rng.standard_normal(s) for s in [(2, 1, 3), (3, 8), (2, 8), (8,),
                                                           (2, 2), (2, 2)])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    z = x[:, 0] @ w + h0 @ u + b
    i, f, g, o = sig(z[:, :2]), sig(z[:, 2:4]), np.tanh(z[:, 4:6]), sig(z[:, 6:])
    c = f * c0 + i * g
    h, cell = nl.lstm(x, w, u, b, h0, c0)
    np.testing.assert_allclose(cell.data[:, 0], c, rtol=1e-12)
    np.testing.assert_allclose(h.data[:, 0], o * np.tanh(c), rtol=1e-12)
    w3, u3, b2 = w[:, :6], u[:, :6], np.stack([b[:6], b[2:]])
    xz = x[:, 0] @ w3 + b2[0]
    hz = h0 @ u3 + b2[1]
    zz, r = sig(xz[:, :2] + hz[:, :2]), sig(xz[:, 2:4] + hz[:, 2:4])
    cand = np.tanh(xz[:, 4:] + r * hz[:, 4:])
    np.testing.assert_allclose(nl.gru(x, w3, u3, b2, h0).data[:, 0],
                               zz * h0 + (1 - zz) * cand, rtol=1e-12)


# -- the layers: fused == unrolled, gradients ------------------------------------------------
LAYER_CASES = [
    (layers.SimpleRNN, {}), (layers.SimpleRNN, {"activation": "relu", "use_bias": False}),
    (layers.LSTM, {}), (layers.LSTM, {"unit_forget_bias": False}),
    (layers.GRU, {}), (layers.GRU, {"use_bias": False}),
]


def built(cls, kwargs, shape=(4, 3), seed=0, **extra):
    layer = cls(3, **kwargs, **extra)
    layer.build(shape, np.random.default_rng(seed), np.float64)
    for p in layer.params:  # non-zero biases
        p.data[...] += np.random.default_rng(seed + 1).uniform(-0.3, 0.3, p.shape)
    return layer


@pytest.mark.parametrize("cls, kwargs", LAYER_CASES)
@pytest.mark.parametrize("sequences", [False, True])
def test_fused_path_equals_the_unrolled_engine_graph(cls, kwargs, sequences):
    layer = built(cls, kwargs, return_sequences=sequences)
    x = nl.Tensor(np.random.default_rng(5).standard_normal((2, 4, 3)), dtype=np.float64)
    fused = layer.call(x)
    sequence, _ = layer.unrolled(x, [None] * layer.n_states)
    unrolled = sequence if sequences else sequence[:, -1]
    np.testing.assert_allclose(fused.data, unrolled.data, rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(6).standard_normal(fused.shape)
    grads_fused = nl.grad(fused, layer.params, gradient=g)
    grads_unrolled = nl.grad(unrolled, layer.params, gradient=g)
    for a, b in zip(grads_fused, grads_unrolled):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls, kwargs", LAYER_CASES + [(layers.GRU, {"reset_after": False}),
                                                       (layers.SimpleRNN,
                                                        {"activation": "elu"})])
def test_layer_gradcheck_weights_and_input(cls, kwargs):
    layer = built(cls, kwargs, return_sequences=True)
    rng = np.random.default_rng(7)
    x = tensor(rng, (2, 4, 3))
    names = ["kernel", "recurrent_kernel", "bias"][:len(layer.params)]

    def fn(x, *params):
        for name, p in zip(names, params):
            setattr(layer, name, p)
        return layer.call(x)

    assert nl.gradcheck(fn, [x, *(nl.Tensor(p.data, requires_grad=True)
                                  for p in layer.params)])


def test_gradient_reaches_initial_states():
    layer = built(layers.LSTM, {})
    rng = np.random.default_rng(8)
    x, h0, c0 = tensor(rng, (2, 4, 3)), tensor(rng, (2, 3)), tensor(rng, (2, 3))
    assert nl.gradcheck(lambda x, h, c: layer(x, initial_state=[h, c]), [x, h0, c0])


def test_go_backwards_reads_the_reversed_sequence():
    forward = built(layers.GRU, {}, return_sequences=True)
    backward = built(layers.GRU, {}, return_sequences=True, go_backwards=True)
    x = np.random.default_rng(9).standard_normal((2, 4, 3))
    np.testing.assert_allclose(backward(x).data, forward(x[:, ::-1]).data, rtol=1e-12)


def test_return_state_gives_the_final_states():
    layer = built(layers.LSTM, {}, return_sequences=True, return_state=True)
    x = np.random.default_rng(10).standard_normal((2, 4, 3))
    sequence, h, c = layer(x)
    np.testing.assert_array_equal(h.data, sequence.data[:, -1])
    _, cells = nl.lstm(x, *layer.params)
    np.testing.assert_array_equal(c.data, cells.data[:, -1])


def test_stateful_layer_continues_where_the_last_batch_ended():
    x = np.random.default_rng(11).standard_normal((2, 6, 3))
    whole = built(layers.SimpleRNN, {}, return_sequences=True)(x).data
    stateful = built(layers.SimpleRNN, {}, return_sequences=True, stateful=True)
    first, second = stateful(x[:, :3]).data, stateful(x[:, 3:]).data
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)
    stateful.reset_states()
    np.testing.assert_allclose(stateful(x[:, :3]).data, first, rtol=1e-12)


def test_keras_parameter_counts_and_initial_weights():
    model = nl.Sequential([layers.Input((7, 5)), layers.SimpleRNN(4, return_sequences=True),
                           layers.LSTM(6, return_sequences=True), layers.GRU(3),
                           layers.Dense(1)], seed=0)
    model.build((7, 5))
    # Keras: 4 (5 + 4 + 1); 4 * 6 (4 + 6 + 1); 3 * 3 (6 + 3 + 2) (reset_after bias rows)
    assert [layer.count_params() for layer in model.layers[1:4]] == [40, 264, 99]
    lstm = model.layers[2]
    np.testing.assert_array_equal(lstm.bias.data, np.repeat([0, 1, 0, 0], 6))  # forget: 1
    u = lstm.recurrent_kernel.data.astype(np.float64)  # (6, 24): orthonormal rows
    np.testing.assert_allclose(u @ u.T, np.eye(6), atol=1e-6)


def test_time_distributed_and_bidirectional_shapes_and_weights():
    model = nl.Sequential([layers.Input((5,)), layers.Embedding(10, 4),
                           layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
                           layers.TimeDistributed(layers.Dense(2))], seed=0)
    out = model.predict(np.array([[1, 2, 3, 0, 9]]))
    assert out.shape == (1, 5, 2)
    bidirectional = model.layers[2]
    assert [w.shape for w in bidirectional.params] == [(4, 12), (3, 12), (12,)] * 2
    x = model.layers[1](np.array([[1, 2, 3, 0, 9]]))
    dense = model.layers[3].layer
    forward = bidirectional.forward_layer(x).data
    backward = bidirectional.backward_layer(x).data[:, ::-1]
    expected = np.concatenate([forward, backward], -1) @ dense.kernel.data + dense.bias.data
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_models_with_recurrent_layers_save_and_load(tmp_path):
    model = nl.Sequential([layers.Input((6,)), layers.Embedding(8, 3),
                           layers.Bidirectional(layers.GRU(4, return_sequences=True),
                                                merge_mode="sum"),
                           layers.LSTM(2, go_backwards=True),
                           layers.Dense(1)], seed=3)
    model.compile("adam", "mse")
    x = np.random.default_rng(0).integers(0, 8, (10, 6))
    model.fit(x, np.ones(10), epochs=1, verbose=0)
    buffer = io.BytesIO()
    model.save(buffer)
    loaded = nl.load_model(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert "Bidirectional" in repr(loaded.layers[2])


def test_summary_lists_the_recurrent_layers():
    model = nl.Sequential([layers.Input((5, 2)), layers.LSTM(4, return_sequences=True),
                           layers.TimeDistributed(layers.Dense(1))])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 5, 4)" in text and "112" in text and "(None, 5, 1)" in text


@pytest.mark.parametrize("build, match", [
    (lambda: layers.LSTM(0), "LSTM: units must be a positive integer; got 0"),
    (lambda: layers.GRU(3, return_sequences="yes"), "return_sequences must be True or False"),
    (lambda: layers.SimpleRNN(3, recurrent_initializer="orthogonl"), "orthogonal"),
    (lambda: layers.Bidirectional(layers.Dense(3)), "must be a SimpleRNN, LSTM or GRU"),
    (lambda: layers.Bidirectional(layers.LSTM(3), merge_mode="avg"), "merge_mode"),
    (lambda: layers.Embedding(0, 3), "input_dim must be a positive integer"),
    (lambda: nl.Sequential([layers.LSTM(2)]).build((4,)),
     r"expects sequences of shape \(steps, features\); got sample shape \(4,\)"),
    (lambda: nl.lstm(np.zeros((1, 2, 3)), np.zeros((3, 8)), np.zeros((2, 4))),
     r"recurrent_kernel must have shape \(units, 4 \* units\)"),
    (lambda: nl.gru(np.zeros((1, 2, 3)), np.zeros((3, 6)), np.zeros((2, 6)),
                    np.zeros((6,))), r"bias must have shape \(2, 6\)"),
    (lambda: nl.simple_rnn(np.zeros((2, 3)), np.zeros((3, 2)), np.zeros((2, 2))),
     "x must be a batch of sequences"),
    (lambda: nl.embedding(np.array([0, 5]), np.zeros((5, 2))),
     r"indices must be in \[0, input_dim=5\)"),
    (lambda: nl.embedding(np.array([0.5]), np.zeros((5, 2))), "must be integers"),
    (lambda: built(layers.LSTM, {})(np.zeros((2, 4, 3)), initial_state=[np.zeros((2, 3))]),
     "initial_state must hold 2 state"),
])
def test_bad_arguments_raise_clear_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


# -- the orthogonal initializer (Saxe et al. 2014) -------------------------------------------
@pytest.mark.parametrize("shape", [(5, 5), (3, 12), (12, 3), (2, 3, 4)])
def test_orthogonal_initializer(shape):
    w = nl.initializers.get("orthogonal")(shape, np.random.default_rng(0))
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    spread = nl.initializers.orthogonal((200, 200), np.random.default_rng(1))
    assert abs(spread.mean()) < 0.01 and abs(spread.std() - 200 ** -0.5) < 0.005
    with pytest.raises(ValueError, match="at least 2 axes"):
        nl.initializers.orthogonal((4,), np.random.default_rng(0))


# -- PyTorch's nn.LSTM and nn.GRU (skipped without torch) -------------------------------------
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_equal_to_pytorch_after_the_weight_permutation(kind):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = getattr(torch.nn, kind)(3, 5, batch_first=True).double()
    x = np.random.default_rng(12).standard_normal((4, 7, 3))
    xt = torch.tensor(x, requires_grad=True)
    expected, _ = module(xt)
    g = np.random.default_rng(13).standard_normal(expected.shape)
    expected.backward(torch.tensor(g))
    convert = lstm_weights_from_torch if kind == "LSTM" else gru_weights_from_torch
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    weights = convert(*(getattr(module, n).detach().numpy() for n in names))
    layer = getattr(layers, kind)(5, return_sequences=True)
    layer.build((7, 3), np.random.default_rng(0), np.float64)
    for p, w in zip(layer.params, weights):
        p.data[...] = w
    xn = nl.Tensor(x, requires_grad=True, dtype=np.float64)
    out = layer(xn)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    grads = nl.grad(out, [xn, *layer.params], gradient=g)
    np.testing.assert_allclose(grads[0], xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_grads = convert(*(getattr(module, n).grad.numpy() for n in names))
    np.testing.assert_allclose(grads[1], torch_grads[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads[2], torch_grads[1], rtol=1e-9, atol=1e-12)
    if kind == "GRU":  # each PyTorch bias gets its own gradient
        np.testing.assert_allclose(grads[3], torch_grads[2], rtol=1e-9, atol=1e-12)
    else:  # the one Keras bias is their sum: its gradient equals each of theirs
        np.testing.assert_allclose(grads[3], module.bias_ih_l0.grad.numpy(), rtol=1e-9)


def test_simple_rnn_equals_pytorch_rnn():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    module = torch.nn.RNN(3, 4, batch_first=True).double()
    x = np.random.default_rng(14).standard_normal((2, 6, 3))
    expected = module(torch.tensor(x))[0].detach().numpy()
    layer = layers.SimpleRNN(4, return_sequences=True)
    layer.build((6, 3), np.random.default_rng(0), np.float64)
    layer.kernel.data[...] = module.weight_ih_l0.detach().numpy().T
    layer.recurrent_kernel.data[...] = module.weight_hh_l0.detach().numpy().T
    layer.bias.data[...] = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-10, atol=1e-12)


# -- Keras 3 with the torch backend (skipped without keras) ------------------------------------
@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {keras.backend.backend()}, not torch")
    return keras


KERAS_CASES = [
    ("SimpleRNN", {}), ("SimpleRNN", {"activation": "relu", "return_sequences": True}),
    ("LSTM", {}), ("LSTM", {"go_backwards": True, "return_sequences": True}),
    ("GRU", {}), ("GRU", {"reset_after": False, "return_sequences": True}),
    ("GRU", {"use_bias": False}),
]


@pytest.mark.parametrize("name, kwargs", KERAS_CASES)
def test_equal_to_keras_with_keras_weights(keras, name, kwargs):
    x = np.random.default_rng(15).standard_normal((3, 6, 4)).astype(np.float32)
    theirs = getattr(keras.layers, name)(5, **kwargs)
    expected = keras.ops.convert_to_numpy(theirs(x))
    model = nl.Sequential([layers.Input((6, 4)), getattr(layers, name)(5, **kwargs)])
    model.build((6, 4))
    assert [w.shape for w in model.get_weights()] == [w.shape for w in theirs.get_weights()]
    model.set_weights(theirs.get_weights())
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_bidirectional_and_time_distributed_equal_keras(keras, merge_mode):
    x = np.random.default_rng(16).standard_normal((2, 5, 3)).astype(np.float32)
    theirs = keras.Sequential([keras.Input((5, 3)), keras.layers.Bidirectional(
        keras.layers.LSTM(4, return_sequences=True), merge_mode=merge_mode),
        keras.layers.TimeDistributed(keras.layers.Dense(2))])
    expected = keras.ops.convert_to_numpy(theirs(x))
    model = nl.Sequential([layers.Input((5, 3)), layers.Bidirectional(
        layers.LSTM(4, return_sequences=True), merge_mode=merge_mode),
        layers.TimeDistributed(layers.Dense(2))])
    model.build((5, 3))
    model.set_weights(theirs.get_weights())
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)


def test_embedding_equals_keras(keras):
    theirs = keras.layers.Embedding(7, 3)
    x = np.array([[1, 6, 0], [2, 2, 5]])
    expected = keras.ops.convert_to_numpy(theirs(x))
    model = nl.Sequential([layers.Input((3,)), layers.Embedding(7, 3)])
    model.build((3,))
    model.set_weights(theirs.get_weights())
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-7)


def test_gradcheck_perturbs_fortran_ordered_inputs():
    """Recurrent kernels are often transposes (PyTorch's layout, QR factors): gradcheck
    must perturb the values fn sees, not a reshaped copy of them."""
    x = nl.Tensor(np.asfortranarray(np.random.default_rng(17).standard_normal((3, 4))),
                  requires_grad=True, dtype=np.float64)
    assert not x.data.flags.c_contiguous
    assert nl.gradcheck(lambda x: x * x, [x])
