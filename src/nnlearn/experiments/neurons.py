"""The early neurons: McCulloch-Pitts gates, Hebb's AND tables, the perceptron's
convergence, logic gates with one sigmoid neuron and the XOR network, and a sin
regression with three sigmoid hidden units."""

from __future__ import annotations

import warnings

import numpy as np

from .registry import ExperimentResult, register

GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
GATE_TARGETS = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}


def _plot():
    from .. import plot

    return plot


def _draw_line(ax, w1, w2, b, low=-1.6, high=1.6, **style):
    """The line w1 x1 + w2 x2 + b = 0 on the square [low, high]^2."""
    grid = np.linspace(low, high, 2)
    if abs(w2) > 1e-12:
        ax.plot(grid, -(w1 * grid + b) / w2, **style)
    elif abs(w1) > 1e-12:
        ax.axvline(-b / w1, **style)


def _shade_positive(ax, w1, w2, b, low=-1.6, high=1.6):
    """Shade the half-plane where the unit fires (w1 x1 + w2 x2 + b >= 0)."""
    grid = np.linspace(low, high, 200)
    gx, gy = np.meshgrid(grid, grid)
    fires = (w1 * gx + w2 * gy + b >= 0).astype(float)
    if not fires.any():
        return
    ax.contourf(gx, gy, fires, levels=[0.5, 1.5], colors=["C3"], alpha=0.12)


def _gate_axes(ax, X, y, title):
    colors = np.where(np.asarray(y) > 0, "C3", "C0")
    ax.scatter(X[:, 0], X[:, 1], c=colors, s=80, edgecolor="black", zorder=3)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)


def _step_panel(ax, X, y, before, after, presented, title, low, high):
    """One step of a learning rule: the training points, the sample just presented
    (ringed), the line before the step (dashed) and after it (solid), and the side where
    the unit now fires (w1 x1 + w2 x2 + b >= 0) shaded."""
    _gate_axes(ax, X, y, title)
    w1, w2, b = after
    _shade_positive(ax, w1, w2, b, low=low, high=high)
    corners = np.array([[low, low], [low, high], [high, low], [high, high]])
    fires = corners @ np.array([w1, w2]) + b >= 0
    if fires.all() or not fires.any():  # the line is out of view (or there is none)
        ax.text(0.5, 0.04, f"fires {'everywhere' if fires.all() else 'nowhere'} in view",
                transform=ax.transAxes, ha="center", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    if before is not None:
        _draw_line(ax, *before, low=low, high=high, color="0.55", linestyle="--",
                   label="line before")
    _draw_line(ax, w1, w2, b, low=low, high=high, color="black", label="line after")
    ax.scatter(*X[presented], s=380, facecolor="none", edgecolor="black", linewidth=1.8,
               zorder=4, label="sample presented")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)


def _step_legend(fig):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color="0.55", linestyle="--"), Line2D([], [], color="black"),
               Line2D([], [], marker="o", markersize=14, markerfacecolor="none",
                      markeredgecolor="black", markeredgewidth=1.8, linestyle="none"),
               Patch(color="C3", alpha=0.25)]
    labels = ["line before", "line after", "sample presented", "fires (w.x + b >= 0)"]
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8,
               frameon=False)


def _perceptron_corrections(X, targets, max_epochs):
    """Rosenblatt's (1958) rule as :class:`~nnlearn.classic.Perceptron` applies it by
    default (cyclic order, w = 0, eta = 1), keeping every correction: for each sample x
    (with a 1 for the bias) on the wrong side, w <- w + t x with t in {-1, +1}."""
    Xa = np.hstack([X, np.ones((len(X), 1))])
    t = np.where(np.asarray(targets) > 0, 1.0, -1.0)
    w = np.zeros(Xa.shape[1])
    corrections = []
    for epoch in range(1, max_epochs + 1):
        changed = False
        for i in range(len(Xa)):
            if t[i] * (w @ Xa[i]) <= 0:
                before, w = w, w + t[i] * Xa[i]
                corrections.append({"epoch": epoch, "sample": i, "before": before.tolist(),
                                    "weights": w.tolist()})
                changed = True
        if not changed:
            break
    return corrections


@register("mcp-gates", "McCulloch-Pitts threshold units for AND, OR, NOT, NAND, the "
          "two-layer XOR and the blueberry bird",
          "McCulloch-Pitts neuron (McCulloch & Pitts 1943)",
          lesson=1,
          notice=(
          "One threshold unit with fixed weights is a logic gate: AND, OR, NOT and NAND each "
          "need a single unit, XOR needs two layers. Nothing is learned: the weights and "
          "thresholds are chosen by hand."))
def mcp_gates(seed: int = 0, quick: bool = False, plots: bool = True):
    """McCulloch-Pitts threshold units for AND, OR, NOT, NAND, the two-layer XOR and the
    blueberry bird.

    Source: McCulloch-Pitts neuron (McCulloch & Pitts 1943).

    The experiment ``mcp-gates`` (lesson 1): ``nnlearn experiments run mcp-gates`` or
    ``nnlearn.experiments.run('mcp-gates')``, whose arguments it takes (``quick``:
    smaller sizes, ``plots``: draw the figures). Returns an :class:`ExperimentResult`
    (its numbers and figures)."""
    from ..classic import AND, BLUEBERRY_BIRD, NAND, NOT, OR, XOR

    tables = {name: gate(GATE_INPUTS).astype(int).tolist()
              for name, gate in {"AND": AND, "OR": OR, "NAND": NAND, "XOR": XOR}.items()}
    tables["NOT"] = NOT([[0], [1]]).astype(int).tolist()
    objects = {"blueberry": [1, 1], "golf ball": [0, 1], "violet": [1, 0], "hot dog": [0, 0]}
    bird = {name: int(BLUEBERRY_BIRD(x)) for name, x in objects.items()}
    figures = {}
    if plots:
        figures["gates"] = _mcp_figure(tables)
    return ExperimentResult("mcp-gates", {"truth_tables": tables, "blueberry_bird": bird},
                            figures, [f"{name}: {table}" for name, table in tables.items()])


def _mcp_figure(tables: dict):
    """Every gate of the experiment, one panel each: the inputs coloured by the output,
    the threshold line and the side where the unit fires shaded; NOT on its one input;
    XOR as the AND of an OR unit and a NAND unit; a legend."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ..classic import AND, NAND, NOT, OR

    fig, axes = _plot().new_figure(ncols=3, nrows=2, size=(11, 7.4))
    axes = axes.ravel()
    low, high = -0.5, 1.5
    gx, gy = np.meshgrid(np.linspace(low, high, 300), np.linspace(low, high, 300))
    for ax, (name, gate) in zip(axes, {"AND": AND, "OR": OR, "NAND": NAND}.items()):
        w, theta = gate.weights, gate.threshold
        _gate_axes(ax, GATE_INPUTS, tables[name], f"{name}: fires when "
                   f"{w[0]:g} x1 + {w[1]:g} x2 >= {theta:g}")
        _draw_line(ax, w[0], w[1], -theta, low=low, high=high, color="black")
        ax.contourf(gx, gy, (w[0] * gx + w[1] * gy >= theta).astype(float),
                    levels=[0.5, 1.5], colors=["#d62728"], alpha=0.12)  # where it fires
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
    # NOT: one input, drawn on a line.
    ax = axes[3]
    x = np.array([0, 1])
    out = np.asarray(tables["NOT"]).ravel()
    boundary = NOT.threshold / NOT.weights[0]            # -x >= 0  <=>  x <= 0
    ax.axvspan(low, boundary, color="#d62728", alpha=0.12)
    ax.axvline(boundary, color="black")
    ax.scatter(x, np.zeros(2), c=np.where(out > 0, "C3", "C0"), s=80, edgecolor="black",
               zorder=3)
    for xi, yi in zip(x, out):
        ax.annotate(f"NOT {xi} = {yi}", (xi, 0), xytext=(0, 14), textcoords="offset points",
                    ha="center", fontsize=9)
    ax.set_xlim(low, high)
    ax.set_ylim(-0.5, 0.5)
    ax.set_yticks([])
    ax.set_xlabel("$x$")
    ax.set_title(f"NOT: fires when {NOT.weights[0]:g} x >= {NOT.threshold:g}", fontsize=10)
    ax.grid(alpha=0.3)
    # XOR: two layers; the hidden OR and NAND units' half-planes, the output ANDs them.
    ax = axes[4]
    _gate_axes(ax, GATE_INPUTS, tables["XOR"], "XOR = AND(OR, NAND): two layers")
    for gate, hatch, color in ((OR, "////", "#9467bd"), (NAND, "\\\\\\\\", "#2ca02c")):
        w, theta = gate.weights, gate.threshold
        ax.contourf(gx, gy, (w[0] * gx + w[1] * gy >= theta).astype(float),
                    levels=[0.5, 1.5], colors="none", hatches=[hatch])
        for collection in ax.collections[-1:]:
            collection.set_edgecolor(color)
            collection.set_linewidth(0)
    _draw_line(ax, 1, 1, -1, low=low, high=high, color="#d62728", lw=2.5)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    axes[5].axis("off")
    handles = [Line2D([], [], marker="o", ls="", markerfacecolor="C3", markeredgecolor="black",
                      markersize=9),
               Line2D([], [], marker="o", ls="", markerfacecolor="C0", markeredgecolor="black",
                      markersize=9),
               Line2D([], [], color="black"), Patch(facecolor="#d62728", alpha=0.12),
               Line2D([], [], color="#d62728", lw=2.5)]
    axes[5].legend(handles, ["output 1 (fires)", "output 0 (silent)",
                             "threshold: weighted sum = theta", "where the unit fires",
                             "where XOR's output unit fires"], loc="upper center",
                   fontsize=9, title="McCulloch-Pitts units")
    axes[5].text(0.5, 0.22, "XOR: the hidden OR unit fires on and above the\nline (purple "
                 "////), the hidden NAND unit on and\nbelow it (green \\\\\\\\); the "
                 "output AND fires\nwhere both do: on the line, through (0, 1)\nand (1, 0).",
                 transform=axes[5].transAxes, ha="center", va="center", fontsize=9)
    fig.suptitle("McCulloch-Pitts gates: weights and thresholds chosen by hand")
    return fig


@register("hebb-and", "Hebb's rule learning AND with bipolar inputs and targets: the "
          "weight table and the separating line after each pair",
          "Hebb net: Hebb's rule (Hebb 1949), AND example as in Fausett (1994)",
          lesson=2,
          notice=(
          "Each pair changes the weights by x * t and the separating line moves with them; "
          "after the third pair the line already classifies all four points, yet the fourth "
          "pair still changes the weights (doubling them: same line). Hebb's rule never "
          "looks at its own error, so it cannot stop when it is right."))
def hebb_and(seed: int = 0, quick: bool = False, plots: bool = True):
    """Hebb's rule learning AND with bipolar inputs and targets: the weight table and the
    separating line after each pair.

    Source: Hebb net: Hebb's rule (Hebb 1949), AND example as in Fausett (1994).

    The experiment ``hebb-and`` (lesson 2): ``nnlearn experiments run hebb-and`` or
    ``nnlearn.experiments.run('hebb-and')``, whose arguments it takes (``quick``:
    smaller sizes, ``plots``: draw the figures). Returns an :class:`ExperimentResult`
    (its numbers and figures)."""
    from ..classic import HebbNeuron

    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    y = np.array([1, -1, -1, -1])
    neuron = HebbNeuron("bipolar").fit(X, y)
    numbers = {"history": neuron.history_, "predictions": neuron.predict(X).tolist(),
               "table": neuron.table()}
    figures = {}
    if plots:
        fig, axes = _plot().new_figure(ncols=4, size=(13, 4))
        before = None
        for i, (ax, record) in enumerate(zip(axes, neuron.history_)):
            _step_panel(ax, X, y, before, record["weights"], i,
                        f"after pair {i + 1}: {record['line']}", -1.6, 1.6)
            before = record["weights"]
        _step_legend(fig)
        figures["lines"] = fig
    return ExperimentResult("hebb-and", numbers, figures, neuron.table().splitlines())


@register("perceptron", "Rosenblatt's perceptron on AND and OR (it converges) and on XOR "
          "(it cannot)",
          "Perceptron learning rule (Rosenblatt 1958); XOR (Minsky & Papert 1969)",
          lesson=2,
          notice=(
          "The perceptron only updates on mistakes: on AND and OR the updates stop (the "
          "convergence theorem), on XOR they never do and accuracy stays at 0.5 - no line "
          "separates XOR. The steps figure shows each correction on AND: the sample on the "
          "wrong side pulls the line (w <- w + t x) until it is on the right one."))
def perceptron(seed: int = 0, quick: bool = False, plots: bool = True):
    """Rosenblatt's perceptron on AND and OR (it converges) and on XOR (it cannot).

    Source: Perceptron learning rule (Rosenblatt 1958); XOR (Minsky & Papert 1969).

    The experiment ``perceptron`` (lesson 2): ``nnlearn experiments run perceptron`` or
    ``nnlearn.experiments.run('perceptron')``, whose arguments it takes (``quick``:
    smaller sizes, ``plots``: draw the figures). Returns an :class:`ExperimentResult`
    (its numbers and figures)."""
    from ..classic import Perceptron

    numbers, models = {}, {}
    for name, targets in GATE_TARGETS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # XOR: "did not converge"
            model = Perceptron(max_epochs=20 if quick else 100, random_state=seed)
            model.fit(GATE_INPUTS, targets)
        models[name] = model
        numbers[name] = {"converged": bool(model.converged_), "epochs": int(model.n_epochs_),
                         "updates": int(model.n_updates_),
                         "weights": [*model.coef_[0].tolist(), float(model.intercept_[0])],
                         "cost_history": model.cost_history_,
                         "updates_per_epoch": model.updates_history_,
                         "accuracy": float(model.score(GATE_INPUTS, targets))}
    corrections = _perceptron_corrections(GATE_INPUTS, GATE_TARGETS["AND"], 20 if quick else 100)
    numbers["AND"]["corrections"] = corrections
    figures = {}
    if plots:
        plot = _plot()
        fig, axes = plot.new_figure(ncols=4, size=(14, 3.6))
        for ax, (name, model) in zip(axes, models.items()):
            w1, w2, b = *model.coef_[0], model.intercept_[0]
            _gate_axes(ax, GATE_INPUTS, GATE_TARGETS[name],
                       f"{name}: {'converged' if model.converged_ else 'no convergence'}")
            _shade_positive(ax, w1, w2, b, low=-0.5, high=1.5)
            _draw_line(ax, w1, w2, b, low=-0.5, high=1.5, color="black")
            if not model.converged_:
                ax.text(0.5, 0.04, f"after {model.n_epochs_} epochs: w = ({w1:g}, {w2:g}), "
                        f"b = {b:g}", transform=ax.transAxes, ha="center", fontsize=8)
            ax.set_xlim(-0.5, 1.5)
            ax.set_ylim(-0.5, 1.5)
        plot.plot_history({name: model.updates_history_ for name, model in models.items()},
                          ax=axes[3], title="corrections (mistakes) per epoch")
        axes[3].set_ylabel("corrections")
        figures["perceptron"] = fig
        ncols = 4
        nrows = -(-len(corrections) // ncols)
        fig, axes = plot.new_figure(ncols=ncols, nrows=nrows, size=(12, 3.1 * nrows + 0.5))
        axes = np.atleast_1d(axes).ravel()
        for ax, step in zip(axes, corrections):
            x1, x2 = GATE_INPUTS[step["sample"]]
            w1, w2, b = step["weights"]
            _step_panel(ax, GATE_INPUTS, GATE_TARGETS["AND"], step["before"], step["weights"],
                        step["sample"], f"epoch {step['epoch']}, x = ({x1}, {x2}): "
                        f"w = ({w1:g}, {w2:g}), b = {b:g}", -0.5, 1.5)
            ax.title.set_fontsize(9)
        for ax in axes[len(corrections):]:
            ax.set_axis_off()
        _step_legend(fig)
        fig.suptitle(f"The perceptron learning AND: its {len(corrections)} corrections, each "
                     "made on a sample on the wrong side")
        figures["perceptron-steps"] = fig
    return ExperimentResult("perceptron", numbers, figures, [
        f"{name}: {'converged' if v['converged'] else 'did not converge'} after "
        f"{v['epochs']} epochs, {v['updates']} updates, accuracy {v['accuracy']:.2f}"
        for name, v in numbers.items()])


@register("logic-gates", "one sigmoid neuron learns AND and OR but not XOR; the 2-2-1 "
          "network learns XOR", "Logic gates and the XOR problem "
          "(Minsky & Papert 1969; Rumelhart, Hinton & Williams 1986)",
          lesson=5,
          notice=(
          "One sigmoid neuron gets AND and OR but outputs 0.5 for every XOR input (its panel "
          "is flat: no line helps); with a hidden layer of two units, backpropagation bends "
          "the boundary and XOR is solved."))
def logic_gates(seed: int = 0, quick: bool = False, plots: bool = True):
    """One sigmoid neuron learns AND and OR but not XOR; the 2-2-1 network learns XOR.

    Source: Logic gates and the XOR problem (Minsky & Papert 1969; Rumelhart, Hinton &
    Williams 1986).

    The experiment ``logic-gates`` (lesson 5): ``nnlearn experiments run logic-gates``
    or ``nnlearn.experiments.run('logic-gates')``, whose arguments it takes (``quick``:
    smaller sizes, ``plots``: draw the figures). Returns an :class:`ExperimentResult`
    (its numbers and figures)."""
    from ..classic import LogisticRegression
    from .xor import train_xor

    numbers, neurons = {}, {}
    for name, targets in GATE_TARGETS.items():
        model = LogisticRegression(learning_rate=0.4, n_epochs=1000).fit(GATE_INPUTS, targets)
        neurons[name] = model
        numbers[f"neuron_{name}"] = model.predict_proba(GATE_INPUTS)[:, 1].tolist()
    network, predictions = train_xor(steps=10_000, seed=seed)
    numbers["network_XOR"] = predictions.tolist()
    figures = {}
    if plots:
        plot = _plot()
        fig, axes = plot.new_figure(ncols=4, size=(18, 4.2))
        for ax, (name, model) in zip(axes, neurons.items()):
            plot.plot_decision_boundary(model, GATE_INPUTS, GATE_TARGETS[name], ax=ax,
                                        title=f"one neuron: {name}" + (
                                            "\nflat, P = 0.5 everywhere: no line "
                                            "separates XOR" if name == "XOR" else ""))
        plot.plot_decision_boundary(network, GATE_INPUTS, GATE_TARGETS["XOR"], ax=axes[3],
                                    title="2-2-1 network: XOR")
        figures["decision_regions"] = fig
        figures["xor_network"] = plot.draw_network([2, 2, 1])
    rounded = {name: np.round(v, 3).tolist() for name, v in numbers.items()}
    return ExperimentResult("logic-gates", numbers, figures,
                            [f"{name}: {v}" for name, v in rounded.items()])


@register("sin-regression", "y = sin(pi x) + noise fitted by a 1-3-1 network with sigmoid "
          "hidden units, mean squared error and gradient descent (lr 0.25)",
          "Simple regression with a neural network",
          lesson=5,
          notice=(
          "Three sigmoid hidden units are enough to follow sin(pi x); the training MSE ends "
          "near the noise variance - below it would mean fitting the noise."))
def sin_regression(seed: int = 0, quick: bool = False, plots: bool = True):
    """Y = sin(pi x) + noise fitted by a 1-3-1 network with sigmoid hidden units, mean
    squared error and gradient descent (lr 0.25).

    Source: Simple regression with a neural network.

    The experiment ``sin-regression`` (lesson 5): ``nnlearn experiments run sin-
    regression`` or ``nnlearn.experiments.run('sin-regression')``, whose arguments it
    takes (``quick``: smaller sizes, ``plots``: draw the figures). Returns an
    :class:`ExperimentResult` (its numbers and figures)."""
    from .. import Sequential, layers, optimizers
    from ..datasets import make_sin

    x, y = make_sin(100, noise=0.25, random_state=seed)
    normal = {"class_name": "random_normal", "config": {"stddev": 1.0}}  # tf.random_normal
    model = Sequential([layers.Input((1,)),
                        layers.Dense(3, activation="sigmoid", kernel_initializer=normal,
                                     bias_initializer=normal),
                        layers.Dense(1, kernel_initializer=normal, bias_initializer=normal)],
                       seed=seed)
    model.compile(optimizer=optimizers.SGD(0.25), loss="mse")
    steps = 2000 if quick else 10_000
    history = model.fit(x, y, epochs=steps, batch_size=len(x), shuffle=False, verbose=0,
                        seed=seed)
    grid = np.linspace(-1, 1, 200)[:, None]
    truth_error = model.predict(grid)[:, 0] - np.sin(np.pi * grid[:, 0])
    numbers = {"steps": steps, "train_mse": float(history.history["loss"][-1]),
               "first_mse": float(history.history["loss"][0]),
               "rmse_vs_truth": float(np.sqrt(np.mean(truth_error ** 2))),
               "noise_std": 0.25}
    figures = {}
    if plots:
        plot = _plot()
        figures["fit"] = plot.plot_regression_fit(
            x, y, {"network": lambda g: model.predict(g[:, None])[:, 0]},
            truth=lambda g: np.sin(np.pi * g), title="1-3-1 sigmoid network")
        figures["network"] = plot.draw_network(model)
    return ExperimentResult("sin-regression", numbers, figures, [
        f"{steps} steps: train MSE {numbers['first_mse']:.3f} -> {numbers['train_mse']:.4f} "
        f"(noise variance 0.0625); RMSE against sin(pi x) {numbers['rmse_vs_truth']:.3f}"])
