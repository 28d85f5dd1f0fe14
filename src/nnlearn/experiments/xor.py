"""The XOR network (Rumelhart, Hinton & Williams 1986) trained by nnlearn: two sigmoid
hidden neurons, a sigmoid output, cross-entropy, plain full-batch gradient descent.

XOR is the problem one threshold neuron cannot solve (Minsky & Papert 1969) and one
hidden layer can.  Run it with ``python -m nnlearn.experiments.xor``.  With only two
hidden neurons, gradient descent from some starting weights ends in a local minimum (one
pattern stuck near 0.5); the default seed is one that separates all four points.
"""

from __future__ import annotations

import numpy as np

from .. import layers, optimizers
from ..models import Sequential

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y_XOR = np.array([[0], [1], [1], [0]], dtype=np.float32)


def xor_network(seed: int = 0, hidden: int = 2, learning_rate: float = 0.1,
                dtype="float32") -> Sequential:
    """The 2-``hidden``-1 sigmoid network, weights and biases drawn from N(0, 1), compiled
    for gradient descent on the summed cross-entropy with step ``learning_rate``: the loss
    is the mean over the 4 samples, so the optimizer's step is 4 x ``learning_rate``."""
    normal = {"class_name": "random_normal", "config": {"stddev": 1.0}}
    model = Sequential([layers.Input(2),
                        layers.Dense(hidden, activation="sigmoid", kernel_initializer=normal,
                                     bias_initializer=normal),
                        layers.Dense(1, activation="sigmoid", kernel_initializer=normal,
                                     bias_initializer=normal)], seed=seed, dtype=dtype)
    model.compile(optimizers.SGD(len(X_XOR) * learning_rate), loss="binary_crossentropy")
    return model


def train_xor(steps: int = 10_000, learning_rate: float = 0.1, seed: int = 0):
    """Train the 2-2-1 network on XOR, one full-batch step per epoch; returns (model,
    predictions of shape (4,))."""
    model = xor_network(seed, learning_rate=learning_rate)
    model.fit(X_XOR, Y_XOR, epochs=steps, batch_size=len(X_XOR), shuffle=False, verbose=0)
    return model, model.predict(X_XOR)[:, 0]


def main(seed: int = 0) -> None:
    """Train the 2-2-1 XOR network (Rumelhart, Hinton & Williams 1986) and print its
    output for each of the four inputs."""
    _, predictions = train_xor(seed=seed)
    for (x1, x2), p in zip(X_XOR.astype(int), predictions):
        print(f"{x1} XOR {x2} -> {p:.4f}")


if __name__ == "__main__":
    main()
