"""The main job: the first network of Chollet's *Deep Learning with Python* (2017,
ch. 2), for MNIST, in nnlearn.

784 inputs -> Dense(512, relu) -> Dense(10, softmax), RMSprop, categorical
cross-entropy, batch 128, 5 epochs; Chollet (2017) reports test accuracy 0.9785 with Keras.
Run it with ``python -m nnlearn demo``.
"""

from __future__ import annotations

import time


from .datasets import mnist
from .layers import Dense, Input
from .models import Sequential
from .utils import to_categorical


def load_mnist_vectors():
    """MNIST as Chollet (2017) prepares it: 784-vectors scaled to [0, 1], one-hot labels."""
    (train_images, train_labels), (test_images, test_labels) = mnist.load_data()
    x_train = train_images.reshape((60000, 28 * 28)).astype("float32") / 255
    x_test = test_images.reshape((10000, 28 * 28)).astype("float32") / 255
    return (x_train, to_categorical(train_labels)), (x_test, to_categorical(test_labels))


def build_network(seed: int = 0) -> Sequential:
    """Chollet's (2017, ch. 2) MNIST network, compiled: 784 -> Dense(512, relu) ->
    Dense(10, softmax), RMSprop, categorical cross-entropy, accuracy."""
    network = Sequential([Input(784), Dense(512, activation="relu"),
                          Dense(10, activation="softmax")], seed=seed)
    network.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                    metrics=["accuracy"])
    return network


def main(epochs: int = 5, batch_size: int = 128, seed: int = 0, verbose: int = 1) -> float:
    """Train the network and print (and return) its test accuracy."""
    (x_train, y_train), (x_test, y_test) = load_mnist_vectors()
    network = build_network(seed)
    if verbose:
        network.summary()
    start = time.perf_counter()
    network.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, seed=seed,
                verbose=verbose)
    seconds = time.perf_counter() - start
    test_loss, test_acc = network.evaluate(x_test, y_test)
    print(f"trained {epochs} epochs in {seconds:.1f} s; the step's plan:")
    print(network.plan(batch_size).explain())
    print(f"test_loss: {test_loss:.4f}")
    print(f"test_acc: {test_acc:.4f}")
    return test_acc
