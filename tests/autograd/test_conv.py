"""nnlearn.autograd.conv: convolution and pooling (NHWC, HWIO kernels) pass float64
central-difference gradient checks on random shapes, strides, paddings and dilations
(windows that overhang, strides larger than the kernel, 1x1 kernels, "same" with even
kernels), keep float32 in float32, and give PyTorch's values (skipped without torch)."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.autograd.conv import same_pads, output_length
from nnlearn.lowering import loops
from nnlearn.lowering.switches import settings


def conv_routes():
    """The convolution's routes here: NumPy's passes, and numba's loops when installed
    (``settings(conv_loops=...)``: the kernel backend alone does not switch them)."""
    return [False, True] if "numba" in loops.available_backends() else [False]


def distinct(rng, shape):
    """Values with no ties and gaps far wider than gradcheck's eps (for max pooling)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n)).reshape(shape)


def random_case(rng, max_side=7):
    """A random convolution that fits: (x shape, kernel shape, strides, padding, dilation)."""
    while True:
        n, c, f = rng.integers(1, 3), rng.integers(1, 4), rng.integers(1, 4)
        kh, kw = (int(v) for v in rng.integers(1, 4, 2))
        strides = tuple(int(v) for v in rng.integers(1, 4, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
        h, w = (int(v) for v in rng.integers(1, max_side + 1, 2))
        padding = str(rng.choice(["valid", "same"]))
        if padding == "same" or ((kh - 1) * dilation[0] + 1 <= h
                                 and (kw - 1) * dilation[1] + 1 <= w):
            return (n, h, w, c), (kh, kw, c, f), strides, padding, dilation


@pytest.mark.parametrize("seed", range(12))
def test_conv2d_gradcheck_random_shapes(seed):
    rng = np.random.default_rng(seed)
    x_shape, k_shape, strides, padding, dilation = random_case(rng)
    tensors = [nl.Tensor(rng.standard_normal(s), requires_grad=True)
               for s in (x_shape, k_shape, k_shape[-1:])]
    assert nl.gradcheck(lambda x, k, b: nl.conv2d(x, k, b, strides, padding, dilation),
                        tensors)


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation", [
    ((2, 5, 5, 2), (2, 2, 2, 3), 1, "same", 1),            # even kernel: extra pad after
    ((1, 7, 6, 1), (3, 3, 1, 2), (3, 2), "same", (2, 1)),  # stride and dilation together
    ((1, 4, 4, 2), (1, 1, 2, 2), 3, "valid", 1),           # stride > kernel: rows skipped
    ((1, 5, 5, 1), (3, 3, 1, 1), 1, "valid", 2),           # dilated kernel fills the input
    ((1, 1, 1, 2), (3, 3, 2, 1), 2, "same", 3),            # one pixel, all padding
    ((2, 6, 3, 1), (2, 3, 1, 2), (4, 1), "valid", 1),      # the last rows never used
])
def test_conv2d_gradcheck_edge_cases(x_shape, k_shape, strides, padding, dilation):
    rng = np.random.default_rng(1)
    x, k = (nl.Tensor(rng.standard_normal(s), requires_grad=True) for s in (x_shape, k_shape))
    assert nl.gradcheck(lambda x, k: nl.conv2d(x, k, None, strides, padding, dilation),
                        [x, k])


@pytest.mark.parametrize("seed", range(6))
def test_conv1d_gradcheck(seed):
    rng = np.random.default_rng(seed)
    steps, c, f, k = int(rng.integers(3, 9)), int(rng.integers(1, 3)), 2, int(rng.integers(1, 4))
    stride, rate = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    padding = ["valid", "same"][seed % 2]
    tensors = [nl.Tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, steps, c), (k, c, f), (f,))]
    assert nl.gradcheck(lambda x, w, b: nl.conv1d(x, w, b, stride, padding, rate), tensors)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pool2d_gradcheck(pool, seed, kernel_backend):
    rng = np.random.default_rng(seed)
    size = tuple(int(v) for v in rng.integers(1, 4, 2))
    strides = None if seed % 3 == 0 else tuple(int(v) for v in rng.integers(1, 4, 2))
    padding = ["valid", "same"][seed % 2]
    shape = (2, int(rng.integers(size[0], 8)), int(rng.integers(size[1], 8)), 2)
    x = nl.Tensor(distinct(rng, shape), requires_grad=True)
    fn = getattr(nl, pool)
    assert nl.gradcheck(lambda x: fn(x, size, strides, padding), [x])


@pytest.mark.parametrize("pool", ["max_pool1d", "avg_pool1d"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool1d_gradcheck(pool, padding):
    rng = np.random.default_rng(0)
    x = nl.Tensor(distinct(rng, (2, 7, 3)), requires_grad=True)
    fn = getattr(nl, pool)
    assert nl.gradcheck(lambda x: fn(x, 3, 2, padding), [x])


def test_zero_pad2d_gradcheck_and_values():
    rng = np.random.default_rng(0)
    x = nl.Tensor(rng.standard_normal((1, 2, 3, 2)), requires_grad=True)
    assert nl.gradcheck(lambda x: nl.zero_pad2d(x, ((1, 0), (2, 1))), [x])
    out = nl.zero_pad2d(x, 1).data
    assert out.shape == (1, 4, 5, 2) and out[:, 0].sum() == 0
    np.testing.assert_array_equal(out[:, 1:3, 1:4], x.data)


def test_same_padding_output_sizes_follow_tensorflow():
    for n in range(1, 12):
        for k in range(1, 5):
            for s in range(1, 4):
                assert output_length(n, k, s, "same") == -(-n // s)
                before, after = same_pads(n, k, s, 1)
                assert before <= after <= before + 1
                assert (n + before + after - k) // s + 1 >= -(-n // s)


def test_float32_stays_float32_and_shapes():
    x = nl.Tensor(np.ones((2, 9, 9, 3), np.float32), requires_grad=True)
    k = nl.Tensor(np.ones((3, 3, 3, 4), np.float32), requires_grad=True)
    out = nl.conv2d(x, k, None, strides=2, padding="same")
    assert out.dtype == np.float32 and out.shape == (2, 5, 5, 4)
    pooled = nl.max_pool2d(out)
    assert pooled.shape == (2, 2, 2, 4) and pooled.dtype == np.float32
    assert nl.avg_pool2d(out, 2, padding="same").shape == (2, 3, 3, 4)
    gx, gk = nl.grad(nl.sum(pooled), [x, k])
    assert gx.dtype == np.float32 and gk.dtype == np.float32


def test_same_average_pooling_leaves_the_padding_out():
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)
    out = nl.avg_pool2d(x, 2, padding="same").data[0, :, :, 0]
    np.testing.assert_allclose(out, [[2.0, 3.5], [6.5, 8.0]])


@pytest.mark.parametrize("call, message", [
    (lambda: nl.conv2d(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1))), "does not fit"),
    (lambda: nl.conv2d(np.ones((1, 4, 4, 2)), np.ones((3, 3, 1, 1))), "input channels"),
    (lambda: nl.conv2d(np.ones((4, 4, 2)), np.ones((3, 3, 2, 1))), "must be"),
    (lambda: nl.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), padding="full"),
     "padding"),
    (lambda: nl.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), strides=0), "strides"),
    (lambda: nl.max_pool2d(np.ones((1, 1, 4, 1)), 2), "does not fit"),
    (lambda: nl.zero_pad2d(np.ones((1, 2, 2, 1)), -1), "non-negative"),
])
def test_bad_arguments_are_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- interop: the same values as PyTorch ------------------------------------------------------
def _torch_padded(x, k_hw, strides, dilation, padding):
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x).permute(0, 3, 1, 2)
    if padding == "same":
        (t, b), (left, r) = (same_pads(n, k, s, d) for n, k, s, d in
                             zip(x.shape[1:3], k_hw, strides, dilation))
        xt = torch.nn.functional.pad(xt, (left, r, t, b))
    return xt


@pytest.mark.parametrize("seed", range(8))
def test_conv2d_and_pooling_match_pytorch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    x_shape, k_shape, strides, padding, dilation = random_case(rng, max_side=9)
    x = rng.standard_normal(x_shape).astype(np.float32)
    k = rng.standard_normal(k_shape).astype(np.float32)
    b = rng.standard_normal(k_shape[-1]).astype(np.float32)
    ours = nl.conv2d(x, k, b, strides, padding, dilation).data
    xt = _torch_padded(x, k_shape[:2], strides, dilation, padding)
    theirs = F.conv2d(xt, torch.tensor(k).permute(3, 2, 0, 1), torch.tensor(b),
                      stride=strides, dilation=dilation).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)

    size = (min(2, x_shape[1]), min(3, x_shape[2]))
    xt = torch.tensor(x).permute(0, 3, 1, 2)
    for ours_fn, theirs_fn in ((nl.max_pool2d, F.max_pool2d), (nl.avg_pool2d, F.avg_pool2d)):
        ours = ours_fn(x, size, strides).data
        theirs = theirs_fn(xt, size, strides).permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv1d_matches_pytorch(padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 11, 2)).astype(np.float32)
    k = rng.standard_normal((3, 2, 4)).astype(np.float32)
    ours = nl.conv1d(x, k, None, strides=2, padding=padding, dilation=2).data
    xt = torch.tensor(x).permute(0, 2, 1)
    if padding == "same":
        xt = torch.nn.functional.pad(xt, same_pads(11, 3, 2, 2))
    theirs = torch.nn.functional.conv1d(xt, torch.tensor(k).permute(2, 1, 0), stride=2,
                                        dilation=2).permute(0, 2, 1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 7, 3))
    k = rng.standard_normal((3, 2, 3, 4))
    xs, ks = nl.Tensor(x, requires_grad=True), nl.Tensor(k, requires_grad=True)
    loss = nl.sum(nl.max_pool2d(nl.relu(nl.conv2d(xs, ks, None, 2, "same", (1, 2))), 2) ** 2)
    gx, gk = nl.grad(loss, [xs, ks])
    xt = torch.tensor(x, requires_grad=True)
    kt = torch.tensor(k, requires_grad=True)
    pads = [same_pads(n, kk, 2, d) for n, kk, d in zip((8, 7), (3, 2), (1, 2))]
    padded = torch.nn.functional.pad(xt.permute(0, 3, 1, 2), (*pads[1], *pads[0]))
    out = torch.nn.functional.conv2d(padded, kt.permute(3, 2, 0, 1), stride=2, dilation=(1, 2))
    torch.sum(torch.nn.functional.max_pool2d(torch.relu(out), 2) ** 2).backward()
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gk, kt.grad.numpy(), rtol=1e-10, atol=1e-10)


# -- the mnist-cnn experiment (quick: 3,000 images, 3 epochs) ---------------------------------
def test_mnist_cnn_quick_run_learns_and_reports_its_time():
    from nnlearn import experiments

    result = experiments.run("mnist-cnn", seed=0, quick=True, plots=False)
    numbers = result.numbers
    assert numbers["train_images"] == 3000 and numbers["epochs"] == 3
    assert numbers["parameters"] == 61706                      # LeNet-5's layout
    assert numbers["test_accuracy"] > 0.8                      # measured: 0.90
    assert numbers["test_accuracy_augmented"] > 0.7            # harder to fit (measured: 0.89)
    assert numbers["seconds_per_epoch"] > 0
    assert "s per epoch" in result.summary()


@pytest.mark.parametrize("shape, pool, padding", [((2, 6, 4, 3), (3, 2), "valid"),
                                                  ((1, 5, 5, 2), 2, "same"),
                                                  ((2, 7, 6, 1), 2, "valid")])
def test_max_pool_gradient_of_tiling_windows(shape, pool, padding, kernel_backend):
    """Windows that tile the input take a vectorised path (NumPy) or a compiled loop
    (numba); ties go to the first maximum."""
    rng = np.random.default_rng(0)
    x = nl.Tensor(distinct(rng, shape), requires_grad=True)
    assert nl.gradcheck(lambda x: nl.max_pool2d(x, pool, None, padding), [x])
    ties = nl.Tensor(np.zeros((1, 4, 4, 1)), requires_grad=True)
    (g,) = nl.grad(nl.sum(nl.max_pool2d(ties, 2)), [ties])
    np.testing.assert_array_equal(g[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0],
                                                  [1, 0, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool, strides", [((2, 2), (2, 2)), ((2, 3), (3, 4))])
def test_the_compiled_max_pool_loops_move_the_values_bits(dtype, pool, strides):
    """The compiled pooling loops against a plain Python reading of their rules: the
    maximum (a NaN winning its window), and the gradient written as ``g``'s own bits at
    each window's first maximum (a NaN, an infinity and -0 of ``g`` included) and +0 at
    the window's other elements; ties among six and sixteen channels."""
    pytest.importorskip("numba")
    from nnlearn.lowering._conv_loops import max_pool, max_pool_gradient

    (ph, pw), (sh, sw) = pool, strides
    for channels in (6, 16):
        rng = np.random.default_rng(channels)
        xp = np.maximum(rng.standard_normal((3, 9, 10, channels)), 0).astype(dtype)
        xp[0, :4, :4] = 1.5                      # ties between positive values
        xp[1, 1, 1, 2] = np.nan                  # a later tap of its window
        xp[2, 0, 0, 3] = np.nan                  # the first tap of its window
        oh, ow = (xp.shape[1] - ph) // sh + 1, (xp.shape[2] - pw) // sw + 1
        out = np.empty((3, oh, ow, channels), dtype)
        max_pool(pool, strides)(xp, out)
        g = rng.standard_normal(out.shape).astype(dtype)
        g[0, 0, 0, :3] = np.nan, np.inf, -0.0
        dxp = np.full(xp.shape, 7, dtype)
        max_pool_gradient(pool, strides)(xp, out, g, dxp)
        expected = np.full(xp.shape, 7, dtype)
        for b, i, j, k in np.ndindex(out.shape):
            window = [(i * sh + a, j * sw + e) for a in range(ph) for e in range(pw)]
            values = [xp[b, r, c, k] for r, c in window]
            top = np.nan if np.isnan(values).any() else max(values)
            assert out[b, i, j, k] == top or np.isnan(top) and np.isnan(out[b, i, j, k])
            taken = False
            for (r, c), v in zip(window, values):
                hit = v == top and not taken
                expected[b, r, c, k] = g[b, i, j, k] if hit else 0
                taken = taken or hit
        unsigned = np.uint32 if dtype == np.float32 else np.uint64
        np.testing.assert_array_equal(dxp.view(unsigned), expected.view(unsigned))


# -- groups (depthwise when groups == channels), causal padding, dilation ------------------
@pytest.mark.parametrize("channels, filters, groups", [(4, 6, 2), (3, 3, 3), (2, 4, 2),
                                                       (6, 3, 3), (4, 8, 1)])
def test_grouped_conv2d_gradcheck(channels, filters, groups):
    rng = np.random.default_rng(channels * 10 + groups)
    tensors = [nl.Tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 5, 6, channels), (3, 2, channels // groups, filters), (filters,))]
    assert nl.gradcheck(lambda x, k, b: nl.conv2d(x, k, b, (1, 2), "same", 1, groups),
                        tensors)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv1d_gradcheck_causal_and_grouped(padding, groups):
    rng = np.random.default_rng(3)
    tensors = [nl.Tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 9, 4), (3, 4 // groups, 6), (6,))]
    assert nl.gradcheck(lambda x, k, b: nl.conv1d(x, k, b, 1, padding, 2, groups), tensors)


def test_causal_conv1d_sees_only_the_past():
    """out[t] depends on x[:t + 1] only, and the output keeps the sequence length."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 10, 2))
    k = rng.standard_normal((3, 2, 1))
    out = nl.conv1d(x, k, padding="causal", dilation=2).data
    assert out.shape == (1, 10, 1)
    changed = x.copy()
    changed[0, 6:] += 1.0
    again = nl.conv1d(changed, k, padding="causal", dilation=2).data
    np.testing.assert_array_equal(again[0, :6], out[0, :6])
    assert not np.allclose(again[0, 6:], out[0, 6:])


@pytest.mark.parametrize("seed", range(6))
def test_grouped_dilated_conv2d_matches_pytorch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    groups = int(rng.choice([1, 2, 3]))
    c, f = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
    x = rng.standard_normal((2, 9, 8, c)).astype(np.float32)
    k = rng.standard_normal((3, 2, c // groups, f)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    ours = nl.conv2d(x, k, b, 1, "valid", dilation, groups).data
    theirs = F.conv2d(torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(k).permute(3, 2, 0, 1),
                      torch.tensor(b), dilation=dilation, groups=groups)
    np.testing.assert_allclose(ours, theirs.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-5)


def test_depthwise_and_causal_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((3, 3, 1, 6))
    xs, ks = nl.Tensor(x, requires_grad=True), nl.Tensor(k, requires_grad=True)
    gx, gk = nl.grad(nl.sum(nl.conv2d(xs, ks, None, 2, "valid", 1, groups=3) ** 2), [xs, ks])
    xt, kt = torch.tensor(x, requires_grad=True), torch.tensor(k, requires_grad=True)
    out = F.conv2d(xt.permute(0, 3, 1, 2), kt.permute(3, 2, 0, 1), stride=2, groups=3)
    torch.sum(out ** 2).backward()
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gk, kt.grad.numpy(), rtol=1e-10, atol=1e-10)

    # causal: PyTorch's conv1d on the input left-padded by dilation (k - 1)
    x, k = rng.standard_normal((2, 11, 4)), rng.standard_normal((3, 2, 4))
    xs, ks = nl.Tensor(x, requires_grad=True), nl.Tensor(k, requires_grad=True)
    gx, gk = nl.grad(nl.sum(nl.conv1d(xs, ks, None, 2, "causal", 3, groups=2) ** 2), [xs, ks])
    xt, kt = torch.tensor(x, requires_grad=True), torch.tensor(k, requires_grad=True)
    out = F.conv1d(F.pad(xt.permute(0, 2, 1), (6, 0)), kt.permute(2, 1, 0), stride=2,
                   dilation=3, groups=2)
    assert out.shape[-1] == nl.conv1d(x, k, None, 2, "causal", 3, groups=2).shape[1] == 6
    torch.sum(out ** 2).backward()
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gk, kt.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("channels, groups, padding", [(1, 1, "same"), (3, 1, "valid"),
                                                     (2, 2, "same"), (4, 2, "valid")])
def test_all_gradients_with_bias_match_pytorch(channels, groups, padding):
    """x, kernel and bias gradients, for one channel per group (the columns in NHWC
    order) and several (batch innermost), through a ReLU and a max pooling."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(channels)
    shapes = ((3, 8, 7, channels), (3, 2, channels // groups, 4), (4,))
    x, k, b = (rng.standard_normal(s) for s in shapes)
    xs, ks, bs = (nl.Tensor(v, requires_grad=True) for v in (x, k, b))
    out = nl.conv2d(xs, ks, bs, 1, padding, 1, groups)
    grads = nl.grad(nl.sum(nl.max_pool2d(nl.relu(out), 2) ** 2), [xs, ks, bs])
    xt, kt, bt = (torch.tensor(v, requires_grad=True) for v in (x, k, b))
    pads = [p for n, kk in zip((7, 8), (2, 3)) for p in same_pads(n, kk, 1, 1)]
    xp = F.pad(xt.permute(0, 3, 1, 2), pads if padding == "same" else [0] * 4)
    theirs = F.conv2d(xp, kt.permute(3, 2, 0, 1), bt, groups=groups)
    np.testing.assert_allclose(out.data, theirs.detach().permute(0, 2, 3, 1).numpy(),
                               rtol=1e-12, atol=1e-12)
    torch.sum(F.max_pool2d(torch.relu(theirs), 2) ** 2).backward()
    for ours, t in zip(grads, (xt, kt, bt)):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("call, message", [
    (lambda: nl.conv2d(np.ones((1, 4, 4, 3)), np.ones((3, 3, 1, 4)), groups=2),
     "groups must divide"),
    (lambda: nl.conv2d(np.ones((1, 4, 4, 4)), np.ones((3, 3, 1, 4)), groups=2),
     "per group"),
    (lambda: nl.conv2d(np.ones((1, 4, 4, 2)), np.ones((3, 3, 2, 2)), groups=0), "groups"),
    (lambda: nl.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), padding="causal"),
     "padding"),
    (lambda: nl.conv1d(np.ones((1, 4, 1)), np.ones((3, 1, 1)), padding="full"), "causal"),
])
def test_bad_groups_and_paddings_are_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("pool, strides", [(2, None), (3, 1), ((2, 3), (1, 2)), (3, 3)])
def test_max_pool_gradient_with_ties_matches_pytorch(pool, strides, kernel_backend):
    """Ties (ReLU's zeros, repeated values) send the gradient to the first maximum of each
    window in row-major order, in overlapping windows too, as PyTorch does."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = np.maximum(rng.integers(-2, 3, (2, 7, 8, 3)), 0).astype(np.float64)
    g = rng.standard_normal(nl.max_pool2d(x, pool, strides).shape)
    xs = nl.Tensor(x, requires_grad=True)
    (gx,) = nl.grad(nl.max_pool2d(xs, pool, strides), [xs], gradient=g)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.max_pool2d(xt.permute(0, 3, 1, 2), pool, strides)
    out.backward(torch.tensor(g).permute(0, 3, 1, 2))
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool, strides, padding", [(2, None, "valid"), ((2, 3), (3, 3), "same"),
                                                    (3, 4, "valid"), (2, (2, 1), "same")])
def test_max_pool_gradient_is_the_same_on_both_backends(pool, strides, padding):
    """float32 ReLU outputs (many tied zeros, a NaN), disjoint and overlapping windows,
    skipped rows and padding: the compiled loops and NumPy's passes give the same bits."""

    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((3, 11, 10, 6)), 0).astype(np.float32)
    x[0, :4, :4] = 1.5                               # ties between positive values too
    x[1, 1, 1, 2], x[2, 0, 0, 1] = np.nan, np.inf    # NaN wins its window (np.maximum)
    results = []
    for compiled in conv_routes():
        with settings(conv_loops=compiled):
            xs = nl.Tensor(x, requires_grad=True)
            out = nl.max_pool2d(xs, pool, strides, padding)
            g = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
            (gx,) = nl.grad(out, [xs], gradient=g)
            assert out.dtype == gx.dtype == np.float32
            results.append((out.data, gx))
    assert np.isnan(results[0][0]).any()
    for out, gx in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(gx, results[0][1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation, groups", [
    ((3, 14, 14, 6), (5, 5, 6, 16), 1, "valid", 1, 1),      # LeNet's second layer
    ((2, 9, 8, 4), (3, 2, 2, 6), (2, 3), "same", (1, 2), 2),
    ((2, 7, 7, 3), (2, 2, 3, 2), 3, "valid", 1, 1),         # stride > kernel: rows skipped
])
def test_conv2d_input_gradient_is_the_same_on_both_backends(x_shape, k_shape, strides,
                                                            padding, dilation, groups, dtype):
    """col2im with several channels per group is a compiled loop on the numba backend and
    kh * kw NumPy adds on the other: the same sums in the same order, the same bits."""

    rng = np.random.default_rng(0)
    x, k = (rng.standard_normal(s).astype(dtype) for s in (x_shape, k_shape))
    results = []
    for compiled in conv_routes():
        with settings(conv_loops=compiled):
            xs = nl.Tensor(x, requires_grad=True)
            out = nl.conv2d(xs, k, None, strides, padding, dilation, groups)
            g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
            (gx,) = nl.grad(out, [xs], gradient=g)
            assert gx.dtype == dtype
            results.append(gx)
    for gx in results[1:]:
        np.testing.assert_array_equal(gx, results[0])


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation", [
    ((3, 28, 28, 1), (5, 5, 1, 6), 1, "same", 1),           # LeNet's first layer: t = 4
    ((2, 9, 12, 1), (3, 2, 1, 4), (1, 2), "same", 1),       # strided blocks
    ((2, 8, 11, 1), (2, 3, 1, 3), 1, "valid", (1, 2)),      # dilated: span (t-1) + 2 d + 1
])
def test_one_channel_conv2d_in_blocks_of_columns(x_shape, k_shape, strides, padding,
                                                 dilation, monkeypatch):
    """One input channel: t output columns per position with a blocked kernel gives the
    convolution of one column per position, and its gradients pass the float64 check."""
    from nnlearn.autograd import conv

    rng = np.random.default_rng(0)
    x, k, b = (rng.standard_normal(s) for s in (x_shape, k_shape, k_shape[-1:]))
    g = None
    results = []
    for most in (conv._BLOCK_COLUMNS, 0):           # 0: t = 1, a column per position
        monkeypatch.setattr(conv, "_BLOCK_COLUMNS", most)
        tensors = [nl.Tensor(v, requires_grad=True) for v in (x, k, b)]
        out = nl.conv2d(*tensors, strides, padding, dilation)
        g = rng.standard_normal(out.shape) if g is None else g
        results.append([out.data, *nl.grad(out, tensors, gradient=g)])
    monkeypatch.undo()
    assert conv._columns_per_block(1, 1, k_shape[-1], results[0][0].shape[2]) > 1
    for blocked, plain in zip(*results):
        np.testing.assert_allclose(blocked, plain, rtol=1e-12, atol=1e-12)
    small = [nl.Tensor(v, requires_grad=True) for v in (x[:1, :6, :8], k, b)]
    assert nl.gradcheck(lambda x, k, b: nl.conv2d(x, k, b, strides, padding, dilation), small)


# -- the compiled im2col, col2im and pooling loops equal NumPy's passes (property test) ---
from hypothesis import HealthCheck, example, given, settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def convolutions(draw):
    """A convolution that fits: shapes, strides, padding, dilation, groups, dtype."""
    groups = draw(st.integers(1, 3))
    cg, fg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    spread = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilated = draw(st.booleans())     # strides > 1 with dilation > 1 is not allowed
    strides, dilation = ((1, 1), spread) if dilated else (spread, (1, 1))
    padding = draw(st.sampled_from(["valid", "same"]))
    h = draw(st.integers((kh - 1) * dilation[0] + 1 if padding == "valid" else 1, 12))
    w = draw(st.integers((kw - 1) * dilation[1] + 1 if padding == "valid" else 1, 12))
    n = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return ((n, h, w, groups * cg), (kh, kw, cg, groups * fg), strides, padding, dilation,
            groups, dtype, draw(st.booleans()), draw(st.integers(0, 2 ** 32 - 1)))


@pytest.mark.skipif("numba" not in loops.available_backends(),
                    reason="numba is not installed (the fast extra)")
@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
@given(convolutions())
@example(((2, 28, 28, 1), (5, 5, 1, 6), (1, 1), "same", (1, 1), 1, np.float32, True, 0))
@example(((2, 14, 14, 6), (5, 5, 6, 16), (1, 1), "valid", (1, 1), 1, np.float32, True, 1))
@example(((2, 9, 10, 4), (3, 2, 2, 4), (1, 1), "same", (2, 3), 2, np.float64, False, 2))
@example(((2, 8, 11, 1), (2, 3, 1, 3), (1, 1), "valid", (1, 2), 1, np.float64, True, 3))
def test_compiled_convolution_loops_equal_numpy_passes(case):
    """Over random shapes, strides, paddings, dilations and groups (one channel per group
    too, in blocks of columns), the compiled im2col, col2im and max-pooling loops give
    NumPy's outputs and gradients bit for bit: they copy and add the same numbers in the
    same order."""
    x_shape, k_shape, strides, padding, dilation, groups, dtype, bias, seed = case
    rng = np.random.default_rng(seed)
    x, k, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, k_shape, k_shape[-1:]))
    x[..., 0] = np.round(x[..., 0])        # ties for max pooling (after the ReLU, zeros too)
    results, g = [], None
    for compiled in (False, True):
        with settings(conv_loops=compiled):
            tensors = [nl.Tensor(v, requires_grad=True) for v in ((x, k, b) if bias else (x, k))]
            out = nl.conv2d(tensors[0], tensors[1], tensors[2] if bias else None, strides,
                            padding, dilation, groups)
            pool = (1 + (out.shape[1] > 1), 1 + (out.shape[2] > 1))
            pooled = nl.max_pool2d(nl.relu(out), pool, None, padding)
            g = rng.standard_normal(pooled.shape).astype(dtype) if g is None else g
            results.append([out.data, pooled.data, *nl.grad(pooled, tensors, gradient=g)])
    for numpy_value, compiled_value in zip(*results):
        assert compiled_value.dtype == dtype
        np.testing.assert_array_equal(compiled_value, numpy_value)


def test_a_new_process_loads_the_convolution_loops_from_the_disk_cache(tmp_path):
    """The im2col, col2im and max-pooling loops go through the kernel cache
    (nnlearn.lowering.loops.compiled_module): a second process loads them instead of
    compiling them again, and computes the same values."""
    pytest.importorskip("numba")
    import os
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "import nnlearn as nl\n"
            "from nnlearn.lowering import _conv_loops as c\n"
            "rng = np.random.default_rng(0)\n"
            "x = nl.Tensor(rng.standard_normal((2, 8, 8, 3)).astype(np.float32),"
            " requires_grad=True)\n"
            "w = nl.Tensor(rng.standard_normal((3, 3, 3, 4)).astype(np.float32),"
            " requires_grad=True)\n"
            "y = nl.max_pool2d(nl.conv2d(x, w, padding='same'), 2)\n"
            "gx, gw = nl.grad(y.sum(), [x, w])\n"
            "loops = [c.im2col((3, 3), (1, 1), (1, 1), True), c.col2im((3, 3), (1, 1), (1, 1)),"
            " c.max_pool((2, 2), (2, 2)), c.max_pool_gradient((2, 2), (2, 2)).loop]\n"
            "print(sum(sum(f.stats.cache_hits.values()) for f in loops),"
            " sum(sum(f.stats.cache_misses.values()) for f in loops),"
            " float(y.data.sum()), float(gx.sum()), float(gw.sum()))\n")
    # (the loops switched on whatever the suite runs with: this is about their cache)
    env = {**os.environ, "NNLEARN_KERNEL_CACHE": str(tmp_path), "NNLEARN_CONV_LOOPS": "on"}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True).stdout.split() for _ in range(2)]
    assert runs[0][:2] == ["0", "4"]     # compiled, and saved
    assert runs[1][:2] == ["4", "0"]     # loaded
    assert runs[0][2:] == runs[1][2:]    # the same values either way
    assert len(list(tmp_path.glob("nnlearn_lowering_conv_loops_*.py"))) == 4
