"""Per-step overhead of the autodiff engine on the XOR network.

One step = ``model.train_step(X_XOR, Y_XOR)`` of ``nnlearn.experiments.xor.xor_network``
(2-2-1, sigmoid hidden, sigmoid output fused into the binary cross-entropy, plain SGD),
on the 4 XOR samples in float32: forward, backward, the update and the loss tracker, as
``fit`` runs it.  Its loss is the mean over the 4 samples with an SGD step of
4 x 0.1, the same update as the summed cross-entropy with step 0.1.  When PyTorch is
installed, the same network is timed in the same run in three idioms (raw tensors with a
manual update under no_grad, raw tensors with torch.optim.SGD, and nn.Sequential with
BCEWithLogitsLoss and torch.optim.SGD; each the summed cross-entropy with lr 0.1), and
the ratios are printed.

The engine alone (tensor ops, ``nl.grad`` and a manual update, no layers) is timed too,
against the nn.Sequential idiom, and beside it the same arithmetic written directly in
NumPy with no graph (:func:`numpy_step`): the floor of any eager engine on NumPy.

    python bench/engine_overhead.py [--steps 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import nnlearn as nl
from nnlearn.experiments.xor import X_XOR, Y_XOR, xor_network


def best_time_per_step(step, steps: int, repeats: int) -> float:
    """Microseconds per call of ``step``: the best of ``repeats`` timed runs after a warm-up."""
    for _ in range(min(steps, 500)):
        step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best * 1e6


def nnlearn_step():
    """The XOR network's own ``train_step`` on the 4 samples (learning rate 0.1 of the
    summed loss)."""
    model = xor_network(seed=0, learning_rate=0.1)
    model.build(X_XOR.shape[1:])
    return lambda: model.train_step(X_XOR, Y_XOR)


def engine_step():
    """The same network written with the engine's tensor ops (no layers, no ``fit``):
    sigmoid hidden layer, the summed cross-entropy on the logits,
    :math:`\\sum \\mathrm{softplus}(z) - y z`, its gradients by ``nl.grad`` and a manual
    update, as the first lecture's Theano-style code does."""
    rng = np.random.default_rng(0)
    x, y = X_XOR, Y_XOR
    params = [nl.Tensor(rng.normal(size=shape).astype(np.float32), requires_grad=True)
              for shape in ((2, 2), (2,), (2, 1), (1,))]
    w1, b1, w2, b2 = params

    def step():
        z = nl.sigmoid(x @ w1 + b1) @ w2 + b2
        loss = (nl.softplus(z) - y * z).sum()
        for p, g in zip(params, nl.grad(loss, params)):
            p.data -= 0.1 * g
        return loss

    return step


def numpy_step():
    """The engine step's arithmetic written directly in NumPy, with no graph: the same
    products, the same element-wise formulas (the stable softplus, the logistic sigmoid),
    each op's gradient as the engine's VJP computes it (the loss's backward is not
    simplified by hand to sigma(z) - y), and the same update, one NumPy call per operation.
    No eager engine can take less than this (it makes these calls and, besides, the graph);
    the engine's overhead is the difference."""
    rng = np.random.default_rng(0)
    x, y = X_XOR, Y_XOR
    w1, b1, w2, b2 = [rng.normal(size=shape).astype(np.float32)
                      for shape in ((2, 2), (2,), (2, 1), (1,))]
    ones = np.ones(len(x), np.float32)

    def step():
        h = 1 / (1 + np.exp(-(np.dot(x, w1) + b1)))
        z = np.dot(h, w2) + b2
        loss = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z).sum()
        g = np.ones(z.shape, z.dtype)                 # back through the sum
        g_softplus, g_yz = g, -g                      # the difference
        dz = g_yz * y + g_softplus / (1 + np.exp(-z))  # y z, and softplus' = sigmoid
        da = np.dot(dz, w2.T) * h * (1 - h)           # the product, then the sigmoid
        grads = (np.dot(x.T, da), np.dot(ones, da), np.dot(h.T, dz), np.dot(ones, dz))
        for p, g in zip((w1, b1, w2, b2), grads):
            p -= 0.1 * g
        return loss

    return step


def torch_steps():
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    x, y = torch.from_numpy(X_XOR), torch.from_numpy(Y_XOR)
    shapes = [(2, 2), (2,), (1, 2), (1,)]  # F.linear takes w as (out, in)
    params = [torch.randn(s, requires_grad=True) for s in shapes]
    w1, b1, w2, b2 = params

    def loss():
        logits = F.linear(torch.sigmoid(F.linear(x, w1, b1)), w2, b2)
        return F.binary_cross_entropy_with_logits(logits, y, reduction="sum")

    def manual():
        loss().backward()
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad
                p.grad = None

    optimizer = torch.optim.SGD(params, lr=0.1)

    def with_optimizer():
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()

    # What a PyTorch tutorial writes: nn.Sequential, a loss module and an optimizer.
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1))
    criterion = torch.nn.BCEWithLogitsLoss(reduction="sum")
    net_optimizer = torch.optim.SGD(net.parameters(), lr=0.1)

    def with_modules():
        net_optimizer.zero_grad()
        criterion(net(x), y).backward()
        net_optimizer.step()

    variants = {"tensors + manual update": manual, "tensors + optim.SGD": with_optimizer,
                "nn.Sequential + optim.SGD": with_modules}
    return variants, torch.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"XOR 2-2-1 training step (4 samples, float32), best of {args.repeats} x "
          f"{args.steps} steps; numpy {np.__version__}, python {platform.python_version()}")
    ours = best_time_per_step(nnlearn_step(), args.steps, args.repeats)
    print(f"  nnlearn {nl.__version__:<36s} {ours:8.1f} us/step")
    bare = best_time_per_step(engine_step(), args.steps, args.repeats)
    print(f"  nnlearn {nl.__version__} tensor ops + nl.grad {bare:13.1f} us/step")
    floor = best_time_per_step(numpy_step(), args.steps, args.repeats)
    print(f"  numpy {np.__version__}, the same arithmetic, no graph {floor:7.1f} us/step")
    try:
        variants, version = torch_steps()
    except ImportError:
        print("  PyTorch not installed: no comparison (pip install torch==2.13.0)")
        return
    theirs = {}
    for name, step in variants.items():
        theirs[name] = best_time_per_step(step, args.steps, args.repeats)
        print(f"  torch {version} {name:<27s} {theirs[name]:8.1f} us/step")
    for name, t in theirs.items():
        print(f"  ratio nnlearn / torch ({name}): {ours / t:.3f}")
    modules = theirs["nn.Sequential + optim.SGD"]
    print(f"  ratio nnlearn tensor ops + nl.grad / torch (nn.Sequential + optim.SGD): "
          f"{bare / modules:.3f} (goal <= 0.2)")
    print(f"  ratio numpy alone / torch (nn.Sequential + optim.SGD): {floor / modules:.3f} "
          f"(the floor of any eager engine on NumPy); the engine's own share: "
          f"{bare - floor:.1f} us/step")


if __name__ == "__main__":
    main()
