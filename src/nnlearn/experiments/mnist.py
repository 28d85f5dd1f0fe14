"""MNIST experiments (LeCun et al. 1998): softmax regression (TensorFlow's MNIST tutorial),
the main job's MLP (Chollet 2017, ch. 2) and the "overfit a tiny subset first" check of
Karpathy's CS231n course."""

from __future__ import annotations

import numpy as np

from .. import Sequential, layers, optimizers
from .registry import ExperimentResult, register

#: The quick runs of lesson 10 (softmax regression, the MLP and the CNN): one subset and
#: one number of epochs for all three, so that their test accuracies compare.
QUICK = {"train_images": 3000, "test_images": 2000, "epochs": 3}


def _data(quick: bool):
    from ..demo import load_mnist_vectors

    (x_train, y_train), (x_test, y_test) = load_mnist_vectors()
    if quick:  # the same subset and epochs for softmax, MLP and CNN (see QUICK)
        n_train, n_test = QUICK["train_images"], QUICK["test_images"]
        return (x_train[:n_train], y_train[:n_train]), (x_test[:n_test], y_test[:n_test])
    return (x_train, y_train), (x_test, y_test)


def _digit_images(weights, title):
    """The ten columns of a 784 x 10 weight matrix as 28 x 28 images."""
    from .. import plot

    fig, axes = plot.new_figure(ncols=5, nrows=2, size=(10, 4.4))
    limit = float(np.abs(weights).max())
    for digit, ax in enumerate(axes.ravel()):
        ax.imshow(weights[:, digit].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(str(digit))
        ax.axis("off")
    fig.suptitle(title)
    return fig


@register("mnist-softmax", "softmax regression on MNIST: zero weights, gradient descent "
          "0.5, batches of 100",
          "MNIST (LeCun et al. 1998) with softmax regression, as in TensorFlow's tutorial",
          lesson=10,
          notice=(
          "Softmax regression alone gets most digits right. Each digit's weight image is a "
          "template: positive (red) where that digit's strokes are, negative (blue) where "
          "other digits put ink - the 0 has a blue hole in the middle."))
def mnist_softmax(seed: int = 0, quick: bool = False, plots: bool = True):
    """Softmax regression on MNIST: zero weights, gradient descent 0.5, batches of 100.

    Source: MNIST (LeCun et al. 1998) with softmax regression, as in TensorFlow's
    tutorial.

    The experiment ``mnist-softmax`` (lesson 10): ``nnlearn experiments run mnist-
    softmax`` or ``nnlearn.experiments.run('mnist-softmax')``, whose arguments it takes
    (``quick``: smaller sizes, ``plots``: draw the figures). Returns an
    :class:`ExperimentResult` (its numbers and figures)."""
    (x, y), (x_test, y_test) = _data(quick)
    model = Sequential([layers.Input(784), layers.Dense(10, activation="softmax",
                                                        kernel_initializer="zeros")], seed=seed)
    model.compile(optimizers.SGD(0.5), "categorical_crossentropy", ["accuracy"])
    epochs = QUICK["epochs"] if quick else 2  # the tutorial's 1000 steps of 100 = 1.7 epochs
    history = model.fit(x, y, epochs=epochs, batch_size=100, verbose=0, seed=seed)
    loss, accuracy = model.evaluate(x_test, y_test)
    numbers = {"epochs": epochs, "test_loss": loss, "test_accuracy": accuracy,
               "train_loss": history.history["loss"]}
    figures = {}
    if plots:
        figures["weights"] = _digit_images(model.layers[-1].kernel.data,
                                           "softmax regression weights per digit")
    return ExperimentResult("mnist-softmax", numbers, figures,
                            [f"test accuracy {accuracy:.4f} after {epochs} epochs"])


@register("mnist-mlp", "the main job: 784-512 (relu)-10 (softmax), RMSprop, batch 128, "
          "5 epochs",
          "A first look at a neural network (Chollet 2017, Deep Learning with Python, ch. 2)",
          lesson=10,
          notice=(
          "On the same images and epochs the hidden layer beats softmax regression (the quick "
          "run: 3,000 images, 3 epochs; the full run reaches about 0.98). Unlike softmax "
          "regression's digit templates, the hidden units' weights still look like their "
          "random start: each moves a little, and together they do the work."))
def mnist_mlp(seed: int = 0, quick: bool = False, plots: bool = True):
    """The main job: 784-512 (relu)-10 (softmax), RMSprop, batch 128, 5 epochs.

    Source: A first look at a neural network (Chollet 2017, Deep Learning with Python,
    ch. 2).

    The experiment ``mnist-mlp`` (lesson 10): ``nnlearn experiments run mnist-mlp`` or
    ``nnlearn.experiments.run('mnist-mlp')``, whose arguments it takes (``quick``:
    smaller sizes, ``plots``: draw the figures). Returns an :class:`ExperimentResult`
    (its numbers and figures)."""
    from ..demo import build_network

    (x, y), (x_test, y_test) = _data(quick)
    model = build_network(seed)
    model.build((784,))
    hidden = next(layer for layer in model.layers if hasattr(layer, "kernel"))
    start = hidden.kernel.data.copy()
    epochs = QUICK["epochs"] if quick else 5
    history = model.fit(x, y, epochs=epochs, batch_size=128, validation_data=(x_test, y_test),
                        verbose=0, seed=seed)
    loss, accuracy = model.evaluate(x_test, y_test)
    change = float(np.linalg.norm(hidden.kernel.data - start) / np.linalg.norm(start))
    numbers = {"epochs": epochs, "test_loss": loss, "test_accuracy": accuracy,
               "history": history.history, "hidden_weights_relative_change": change,
               "parameters": model.count_params()}
    figures = {}
    if plots:
        from .. import plot

        figures["history"] = plot.plot_history(history, title="MNIST MLP")
        figures["network"] = plot.draw_network(model)
        hidden = hidden.kernel.data
        fig, axes = plot.new_figure(ncols=8, nrows=2, size=(12, 3.4))
        for unit, ax in enumerate(axes.ravel()):
            w = hidden[:, unit].reshape(28, 28)
            limit = float(np.abs(w).max())
            ax.imshow(w, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.axis("off")
        fig.suptitle("first 16 hidden units' input weights")
        figures["hidden_weights"] = fig
    return ExperimentResult("mnist-mlp", numbers, figures,
                            [f"test accuracy {accuracy:.4f} after {epochs} epochs"])


@register("overfit-small", "sanity check: with regularization off, a 784-50-10 network must "
          "fit 20 MNIST images perfectly",
          "Make sure you can overfit a tiny subset (Karpathy's CS231n course)",
          lesson=9,
          notice=(
          "Before a long run: with no regularization a network must drive the loss on 20 "
          "images to almost zero. If it cannot, the bug is in the model or the training loop, "
          "not in the data."))
def overfit_small(seed: int = 0, quick: bool = False, plots: bool = True):
    """Sanity check: with regularization off, a 784-50-10 network must fit 20 MNIST images
    perfectly.

    Source: Make sure you can overfit a tiny subset (Karpathy's CS231n course).

    The experiment ``overfit-small`` (lesson 9): ``nnlearn experiments run overfit-
    small`` or ``nnlearn.experiments.run('overfit-small')``, whose arguments it takes
    (``quick``: smaller sizes, ``plots``: draw the figures). Returns an
    :class:`ExperimentResult` (its numbers and figures)."""
    from ..diagnostics import overfit_small as check

    (x, y), _ = _data(quick=True)

    def build():
        model = Sequential([layers.Input(784), layers.Dense(50, activation="relu"),
                            layers.Dense(10, activation="softmax")], seed=seed)
        model.compile(optimizers.SGD(0.1), "categorical_crossentropy", ["accuracy"])
        return model

    result = check(build, x, y, n=20, epochs=200, seed=seed)
    numbers = {k: result[k] for k in ("train_accuracy", "final_loss", "passed")}
    numbers["loss_history"] = result["loss_history"]
    figures = {}
    if plots:
        from .. import plot

        figures["loss"] = plot.plot_history({"loss": result["loss_history"]},
                                            title="20 examples, 200 full-batch epochs")
    return ExperimentResult("overfit-small", numbers, figures, [
        f"train accuracy {result['train_accuracy']:.2f}, final loss "
        f"{result['final_loss']:.4f}: {'passed' if result['passed'] else 'FAILED'}"])
