"""The seeds' XOR network trained with nnlearn's engine (seed 000, "Neural network
approach"): two sigmoid hidden neurons, a sigmoid output, cross-entropy, plain gradient
descent.

Run it with ``python -m nnlearn.experiments.xor``.  With only two hidden neurons, gradient descent
from some starting weights ends in a local minimum (one pattern stuck near 0.5); the
default seed is one that separates all four points, as the seed's own run did.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, linear, no_grad, sigmoid, sigmoid_binary_cross_entropy

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y_XOR = np.array([[0], [1], [1], [0]], dtype=np.float32)


def init_xor(seed: int = 0, hidden: int = 2, dtype=np.float32) -> list:
    """Weights w1 (2, hidden), b1 (hidden,), w2 (hidden, 1), b2 (1,), standard normal
    like the seed's ``np.random.randn``."""
    rng = np.random.default_rng(seed)
    shapes = [(2, hidden), (hidden,), (hidden, 1), (1,)]
    return [Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]


def xor_logits(params, x) -> Tensor:
    """o_in = sigmoid(x w1 + b1) w2 + b2 (the output's sigmoid is fused into the loss).

    ``linear(x, w, b)`` is ``x @ w + b`` computed as one node."""
    w1, b1, w2, b2 = params
    return linear(sigmoid(linear(x, w1, b1)), w2, b2)


def xor_step(params, x, y, learning_rate: float) -> Tensor:
    """One gradient-descent step on cost = sum of the cross-entropies (seed 000)."""
    cost = sigmoid_binary_cross_entropy(xor_logits(params, x), y, reduction="sum")
    cost.backward()
    for p in params:  # in place on the arrays: no graph is built
        p.data -= learning_rate * p.grad
        p.grad = None
    return cost


def train_xor(steps: int = 10_000, learning_rate: float = 0.1, seed: int = 0):
    """Train the 2-2-1 network on XOR; returns (params, predictions of shape (4,))."""
    params = init_xor(seed)
    x, y = Tensor(X_XOR), Y_XOR
    for _ in range(steps):
        xor_step(params, x, y, learning_rate)
    with no_grad():
        predictions = sigmoid(xor_logits(params, x)).data[:, 0]
    return params, predictions


def main(seed: int = 0) -> None:
    _, predictions = train_xor(seed=seed)
    for (x1, x2), p in zip(X_XOR.astype(int), predictions):
        print(f"{x1} XOR {x2} -> {p:.4f}")


if __name__ == "__main__":
    main()
