"""Training deep networks: activation statistics under each
initialization, optimizers on an ill-conditioned bowl and on a network, dropout / L2 /
early stopping on a network that overfits, the learning-rate search, and the
overfit-a-tiny-subset check."""

from __future__ import annotations

import functools

import numpy as np

from .. import Sequential, autograd, callbacks, initializers, layers, optimizers, regularizers
from ..datasets import make_circle, make_spiral, make_xor
from .registry import ExperimentResult, register


def _plot():
    from .. import plot

    return plot


# -- initialization --------------------------------------------------------------------------
# CS231n's W = np.random.randn(fan_in, fan_out) * scale, scale per initialization.
INITIALIZATIONS = {
    "0.01 tanh": ("tanh", functools.partial(initializers.random_normal, stddev=0.01)),
    "1.0 tanh": ("tanh", functools.partial(initializers.random_normal, stddev=1.0)),
    "xavier tanh": ("tanh", functools.partial(initializers.variance_scaling, scale=1.0,
                                              distribution="normal")),      # / sqrt(fan_in)
    "xavier relu": ("relu", functools.partial(initializers.variance_scaling, scale=1.0,
                                              distribution="normal")),
    "he relu": ("relu", functools.partial(initializers.variance_scaling, scale=2.0,
                                          distribution="normal")),          # / sqrt(fan_in/2)
}


@register("initialization", "activation mean/std through a 10-layer, 500-unit net for "
          "weights x0.01, x1.0, Xavier (tanh, relu) and He (relu)",
          "Weight initialization (Glorot & Bengio 2010; He et al. 2015), after Karpathy's "
          "CS231n course",
          lesson=7,
          notice=(
          "With weights x0.01 the activations shrink to zero layer after layer, with x1.0 "
          "tanh saturates at -1/+1; Xavier keeps tanh alive and He keeps relu's spread "
          "constant through all ten layers (the panels share their axes)."))
def initialization(seed: int = 0, quick: bool = False, plots: bool = True):
    """Activation mean/std through a 10-layer, 500-unit net for weights x0.01, x1.0, Xavier
    (tanh, relu) and He (relu).

    Source: Weight initialization (Glorot & Bengio 2010; He et al. 2015), after
    Karpathy's CS231n course.

    The experiment ``initialization`` (lesson 7): ``nnlearn experiments run
    initialization`` or ``nnlearn.experiments.run('initialization')``, whose arguments
    it takes (``quick``: smaller sizes, ``plots``: draw the figures). Returns an
    :class:`ExperimentResult` (its numbers and figures)."""
    from ..diagnostics import activation_statistics

    units, n = (100, 200) if quick else (500, 1000)
    data = np.random.default_rng(seed).standard_normal((n, units))  # unit gaussian input
    numbers, figures, lines = {"input": {"mean": float(data.mean()), "std": float(data.std())}}, \
        {}, []
    all_stats = {}
    for name, (activation, initializer) in INITIALIZATIONS.items():
        model = Sequential([layers.Input(units)] +
                           [layers.Dense(units, activation=activation, use_bias=False,
                                         kernel_initializer=initializer) for _ in range(10)],
                           seed=seed, dtype="float64")
        stats = activation_statistics(model, data)
        numbers[name] = {"mean": [s["mean"] for s in stats], "std": [s["std"] for s in stats]}
        lines.append(f"{name:12s} layer std: " +
                     " ".join(f"{s['std']:.3g}" for s in stats))
        all_stats[name] = stats
    if plots:  # one scale for every scheme: the figures are compared with each other
        ylim = {"mean": (-0.3, 1.3), "std": (0.0, 1.3)}
        for name, stats in all_stats.items():
            activation = INITIALIZATIONS[name][0]
            figures[name.replace(" ", "_")] = _plot().plot_activation_stats(
                stats, title=f"{units} units x 10 layers, {name}", ylim=ylim,
                value_range=(-1, 1) if activation == "tanh" else (0, 3))
        figures["comparison"] = _initialization_comparison(all_stats, units)
    return ExperimentResult("initialization", numbers, figures, lines)


def _initialization_comparison(all_stats: dict, units: int):
    """Every scheme's layer std on shared axes: linear (what survives) and log (how fast
    the rest vanishes)."""
    fig, axes = _plot().new_figure(ncols=2, size=(11, 4.2), sharex=True)
    for ax, scale in zip(axes, ("linear", "log")):
        for i, (name, stats) in enumerate(all_stats.items()):
            depth = np.arange(1, len(stats) + 1)
            ax.plot(depth, [max(s["std"], 1e-12) for s in stats], "o-", ms=3,
                    color=f"C{i}", label=name)
        ax.set_yscale(scale)
        ax.set_xlabel("layer")
        ax.set_ylabel("activation std")
        ax.set_xticks(depth)
        ax.grid(alpha=0.3)
    axes[0].set_title("std per layer (same axes for every scheme)")
    axes[1].set_title("the same, log scale")
    axes[1].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"{units} units x 10 layers: which initialization keeps the signal alive?")
    return fig


# -- optimizers -------------------------------------------------------------------------------
def bowl(x, y):
    """An ill-conditioned quadratic: curvature 1 along x and 50 along y (a
    ravine, where plain gradient descent zig-zags across and crawls along)."""
    return 0.5 * (x ** 2 + 50.0 * y ** 2)


BOWL_OPTIMIZERS = {
    "SGD": lambda: optimizers.SGD(0.035),  # just under the stability limit 2 / 50
    "momentum": lambda: optimizers.SGD(0.01, momentum=0.9),
    "Nesterov": lambda: optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    "Adagrad": lambda: optimizers.Adagrad(1.0),
    "RMSprop": lambda: optimizers.RMSprop(0.05),
    "Adam": lambda: optimizers.Adam(0.2),
}


def optimizer_path(optimizer, start=(-4.0, 1.0), steps: int = 100) -> np.ndarray:
    """The positions visited when ``optimizer`` minimises :func:`bowl` from ``start``."""
    w = autograd.Tensor(np.array(start, dtype=np.float64), requires_grad=True)

    def closure() -> float:
        w.grad = None
        loss = bowl(w[0], w[1])
        loss.backward()
        return loss.item()

    path = [w.data.copy()]
    for _ in range(steps):
        optimizer.minimize([w], closure)
        path.append(w.data.copy())
    return np.array(path)


@register("optimizers", "SGD, momentum, Nesterov, Adagrad, RMSprop and Adam on an "
          "ill-conditioned bowl, and SGD vs momentum vs Adam training a 2-16-16-2 network",
          "Optimization: Nesterov (Nesterov 1983; Sutskever et al. 2013), Adagrad (Duchi "
          "et al. 2011), RMSprop (Hinton, Coursera lecture 6e), Adam (Kingma & Ba 2015)",
          lesson=6,
          notice=(
          "On the ill-conditioned bowl SGD zig-zags across the valley at every step and "
          "creeps along it; momentum swings across the valley floor for dozens of steps, "
          "Nesterov's look-ahead damps the swings within ten; the adaptive methods' first "
          "step moves both coordinates by the same amount. On the network, SGD has barely "
          "moved the loss when momentum and Adam are done."))
def optimizer_comparison(seed: int = 0, quick: bool = False, plots: bool = True):
    """SGD, momentum, Nesterov, Adagrad, RMSprop and Adam on an ill-conditioned bowl, and
    SGD vs momentum vs Adam training a 2-16-16-2 network.

    Source: Optimization: Nesterov (Nesterov 1983; Sutskever et al. 2013), Adagrad
    (Duchi et al. 2011), RMSprop (Hinton, Coursera lecture 6e), Adam (Kingma & Ba 2015).

    The experiment ``optimizers`` (lesson 6): ``nnlearn experiments run optimizers`` or
    ``nnlearn.experiments.run('optimizers')``, whose arguments it takes (``quick``:
    smaller sizes, ``plots``: draw the figures). Returns an :class:`ExperimentResult`
    (its numbers and figures)."""
    steps = 100
    paths = {name: optimizer_path(make(), steps=steps) for name, make in BOWL_OPTIMIZERS.items()}
    numbers = {"bowl": {name: {"final_loss": float(bowl(*p[-1])),
                               "distance_to_minimum": float(np.hypot(*p[-1]))}
                        for name, p in paths.items()}}
    x, y = make_xor(400, noise=0.1, random_state=seed)

    def build():
        return Sequential([layers.Input(2), layers.Dense(16, activation="tanh"),
                           layers.Dense(16, activation="tanh"),
                           layers.Dense(2, activation="softmax")], seed=seed)

    curves = optimizers.compare(build, {"SGD": optimizers.SGD(0.01),
                                        "momentum": optimizers.SGD(0.01, momentum=0.9),
                                        "Adam": optimizers.Adam(0.01)},
                                x, y, epochs=15 if quick else 40, batch_size=32,
                                loss="sparse_categorical_crossentropy", seed=seed)
    numbers["network"] = {name: {"first_loss": c[0], "final_loss": c[-1]}
                          for name, c in curves.items()}
    figures = {}
    if plots:
        plot = _plot()
        figures["bowl_paths"] = plot.plot_optimizer_paths(
            bowl, paths, bounds=((-4.5, 1.0), (-1.2, 1.2)), minimum=(0, 0),
            title=f"{steps} steps on 0.5 (x^2 + 50 y^2)",
            xlabel="x (curvature 1: the valley floor)", ylabel="y (curvature 50: across)")
        figures["network_loss"] = plot.plot_history(curves, title="XOR-data network: training "
                                                    "loss per epoch")
    return ExperimentResult("optimizers", numbers, figures, [
        *(f"bowl, {name}: loss after {steps} steps {v['final_loss']:.2e}"
          for name, v in numbers["bowl"].items()),
        *(f"network, {name}: loss {v['first_loss']:.3f} -> {v['final_loss']:.3f}"
          for name, v in numbers["network"].items())])


# -- regularization of a network ------------------------------------------------------------
@register("dropout-early-stopping", "a 2-128-128-2 network on 100 noisy circle points: no "
          "regularization, dropout 0.5, L2 and early stopping",
          "Dropout (Srivastava et al. 2014) and early stopping",
          lesson=8,
          notice=(
          "Without regularization the validation loss turns up while the training loss keeps "
          "falling; dropout and L2 make that rise smaller, and early stopping stops near the "
          "best validation loss (with restore_best_weights it keeps that epoch's weights)."))
def dropout_early_stopping(seed: int = 0, quick: bool = False, plots: bool = True):
    """A 2-128-128-2 network on 100 noisy circle points: no regularization, dropout 0.5, L2
    and early stopping.

    Source: Dropout (Srivastava et al. 2014) and early stopping.

    The experiment ``dropout-early-stopping`` (lesson 8): ``nnlearn experiments run
    dropout-early-stopping`` or ``nnlearn.experiments.run('dropout-early-stopping')``,
    whose arguments it takes (``quick``: smaller sizes, ``plots``: draw the figures).
    Returns an :class:`ExperimentResult` (its numbers and figures)."""
    x, y = make_circle(100, noise=0.3, random_state=seed)
    x_val, y_val = make_circle(1000, noise=0.3, random_state=seed + 1)
    epochs = 100 if quick else 400

    def build(dropout=0.0, l2=None):
        stack = [layers.Input(2)]
        for _ in range(2):
            stack.append(layers.Dense(128, activation="relu",
                                      kernel_regularizer=l2 and regularizers.L2(l2)))
            if dropout:
                stack.append(layers.Dropout(dropout))
        model = Sequential(stack + [layers.Dense(2, activation="softmax")], seed=seed)
        model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
        return model

    variants = {"none": (build(), []), "dropout 0.5": (build(dropout=0.5), []),
                "L2 1e-3": (build(l2=1e-3), []),
                "early stopping": (build(), [callbacks.EarlyStopping(
                    patience=20, restore_best_weights=True)])}
    numbers, histories, models = {}, {}, {}
    for name, (model, cbs) in variants.items():
        history = model.fit(x, y, epochs=epochs, batch_size=32, validation_data=(x_val, y_val),
                            callbacks=cbs, verbose=0, seed=seed)
        final = model.evaluate(x_val, y_val, return_dict=True)
        h = history.history
        numbers[name] = {"epochs_run": len(h["loss"]), "train_loss": h["loss"][-1],
                         "best_val_loss": float(min(h["val_loss"])),
                         "final_val_loss": final["loss"], "val_accuracy": final["accuracy"],
                         "train_accuracy": model.evaluate(x, y, return_dict=True)["accuracy"],
                         "loss_history": h["loss"], "val_loss_history": h["val_loss"]}
        histories[name] = h
        models[name] = model
    figures = {}
    if plots:
        plot = _plot()
        figures["losses"] = _regularization_losses(histories)
        fig, axes = plot.new_figure(ncols=4, size=(18, 4.4))
        for ax, (name, model) in zip(axes, models.items()):
            plot.plot_decision_boundary(model, x, y, ax=ax, title=name)
        figures["decision_boundaries"] = fig
    return ExperimentResult("dropout-early-stopping", numbers, figures, [
        f"{name}: {v['epochs_run']} epochs, train loss {v['train_loss']:.3f}, validation loss "
        f"{v['final_val_loss']:.3f} (best {v['best_val_loss']:.3f}), validation accuracy "
        f"{v['val_accuracy']:.3f}" for name, v in numbers.items()])


def _regularization_losses(histories: dict):
    """Training loss (left) and validation loss (right) per epoch for each variant, on
    one loss scale, so that the gap between them can be read across the two panels."""
    fig, axes = _plot().new_figure(ncols=2, size=(12, 4.4), sharey=True)
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        for ax, key in zip(axes, ("loss", "val_loss")):
            epochs = np.arange(1, len(h[key]) + 1)
            ax.plot(epochs, h[key], color=color, lw=1.3, label=name)
        if name == "early stopping":
            best = int(np.argmin(h["val_loss"])) + 1
            axes[1].axvline(best, color=color, ls=":", lw=1)
            axes[1].annotate(f"best epoch {best}\n(weights restored)", (best, 0.97),
                             xycoords=("data", "axes fraction"), xytext=(4, 0),
                             textcoords="offset points", va="top", fontsize=8, color=color)
    axes[0].set_title("training loss (on the 100 training points)")
    axes[1].set_title("validation loss (on 1,000 new points)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cross-entropy")
    axes[0].legend(fontsize=8)
    fig.suptitle("a 2-128-128-2 network on noisy circles: training falls, validation turns up")
    return fig


# -- learning-rate search --------------------------------------------------------------------
@register("learning-rate-search", "too low, too high, then a coarse-to-fine random search "
          "of learning rate and L2 strength in log space",
          "Tuning hyperparameters: random search (Bergstra & Bengio 2012), coarse to "
          "fine as in Karpathy's CS231n course",
          lesson=9,
          notice=(
          "A learning rate too low leaves the loss flat, one too high makes it explode; the "
          "random search over log-scaled values finds the good band, and the fine stage zooms "
          "into it."))
def learning_rate_search(seed: int = 0, quick: bool = False, plots: bool = True):
    """Too low, too high, then a coarse-to-fine random search of learning rate and L2
    strength in log space.

    Source: Tuning hyperparameters: random search (Bergstra & Bengio 2012), coarse to
    fine as in Karpathy's CS231n course.

    The experiment ``learning-rate-search`` (lesson 9): ``nnlearn experiments run
    learning-rate-search`` or ``nnlearn.experiments.run('learning-rate-search')``, whose
    arguments it takes (``quick``: smaller sizes, ``plots``: draw the figures). Returns
    an :class:`ExperimentResult` (its numbers and figures)."""
    from ..model_selection import ModelTrial, coarse_to_fine, log_uniform

    x, y = make_spiral(300, noise=0.1, random_state=seed)
    x_val, y_val = make_spiral(300, noise=0.1, random_state=seed + 1)

    def build(learning_rate, reg=1e-6):
        model = Sequential([layers.Input(2),
                            layers.Dense(32, activation="relu",
                                         kernel_regularizer=regularizers.L2(reg)),
                            layers.Dense(2, activation="softmax")], seed=seed)
        model.compile(optimizers.SGD(learning_rate, momentum=0.9),
                      "sparse_categorical_crossentropy", ["accuracy"])
        return model

    epochs = 5 if quick else 20
    trial = ModelTrial(build, x, y, validation_data=(x_val, y_val), epochs=epochs)
    probes = {"too low (1e-6)": 1e-6, "too high (30)": 30.0}
    numbers = {"probes": {}}
    for name, rate in probes.items():
        model = build(rate)
        with np.errstate(all="ignore"):
            history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, seed=seed,
                                callbacks=[callbacks.DivergenceGuard(3.0)])
        losses = history.history["loss"]
        reason = model.stop_reason and str(model.stop_reason)
        numbers["probes"][name] = {"losses": losses, "stop_reason": reason}
    n = 8 if quick else 20
    results = coarse_to_fine(trial, {"learning_rate": log_uniform(1e-4, 10.0),
                                     "reg": log_uniform(1e-5, 1.0)},
                             n_coarse=n, n_fine=n, top=5, random_state=seed)
    numbers["best_params"] = results.best_params_
    numbers["best_val_accuracy"] = results.best_score_
    numbers["diverged_trials"] = len(results.diverged)
    numbers["fine_space"] = {k: [v.low, v.high] for k, v in results.fine_space.items()}
    numbers["trials"] = [{"stage": r["stage"], **r["params"], "score": r["score"],
                          "status": r["status"]} for r in results]
    figures = {"search": _plot_search(numbers["trials"])} if plots else {}
    best = results.best_params_
    return ExperimentResult("learning-rate-search", numbers, figures, [
        *(f"{name}: loss {v['losses'][0]:.3f} -> {v['losses'][-1]:.3g}"
          + (f" ({v['stop_reason']})" if v["stop_reason"] else "")
          for name, v in numbers["probes"].items()),
        f"best: lr {best['learning_rate']:.3g}, reg {best['reg']:.3g}, validation accuracy "
        f"{results.best_score_:.3f}; {len(results.diverged)} of {2 * n} trials diverged"])


def _plot_search(trials: list):
    """Validation accuracy against learning rate, coloured by L2 strength; red lines
    where a trial diverged."""
    fig, ax = _plot().new_figure(size=(7, 4.5))
    for stage, marker in (("coarse", "o"), ("fine", "^")):
        rows = [r for r in trials if r["stage"] == stage and r["status"] == "ok"]
        points = ax.scatter([r["learning_rate"] for r in rows], [r["score"] for r in rows],
                            c=np.log10([r["reg"] for r in rows]), cmap="viridis",
                            marker=marker, label=stage, edgecolor="black", vmin=-5, vmax=0)
    for r in trials:
        if r["status"] != "ok":
            ax.axvline(r["learning_rate"], color="C3", alpha=0.3, lw=0.8)
    fig.colorbar(points, ax=ax, label="log10 of the L2 strength")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (red lines: diverged)")
    ax.set_ylabel("validation accuracy")
    ax.legend(fontsize=8)
    return fig
