"""Second-order and sign-based trainers against gradient descent, momentum and Adam on
the two classic small networks: the sin regression (1-3-1 sigmoid, 100 noisy points)
and XOR (2-2-1 sigmoid), loss against iterations and against wall-clock time.

Every method trains the same initial weights (N(0, 1), float64) on the full batch, one
``fit`` epoch per iteration.  The loss is the mean squared error for both networks
(Levenberg-Marquardt needs a sum of squares; Rumelhart, Hinton & Williams (1986) trained
XOR on the squared error too).  For Levenberg-Marquardt, ``Model.train_step`` hands the
optimizer the residuals and their Jacobian (an ``optimizers.Objective``).
"""

from __future__ import annotations

import time

import numpy as np

from .. import Sequential, callbacks, layers, optimizers
from .registry import ExperimentResult, register

NOISE = 0.25
NOISE_FLOOR = NOISE ** 2          # the sin data's noise variance, 0.0625
SIN_TARGET = 1.1 * NOISE_FLOOR    # "at the noise floor": MSE within 10% of it
XOR_TARGET = 0.01                 # every output within about 0.1 of its target
XOR_INITS, XOR_CAP = 10, 2000     # XOR from this many initial weights, iterations each


def _network(sizes, output_activation, seed):
    normal = {"class_name": "random_normal", "config": {"stddev": 1.0}}
    stack = [layers.Input(sizes[0])]
    for units in sizes[1:-1]:
        stack.append(layers.Dense(units, activation="sigmoid", kernel_initializer=normal,
                                  bias_initializer=normal))
    stack.append(layers.Dense(sizes[-1], activation=output_activation,
                              kernel_initializer=normal, bias_initializer=normal))
    return Sequential(stack, seed=seed, dtype="float64")


def methods(problem: str) -> dict:
    """name -> (optimizer factory, iterations at full size): the methods compared.  The
    learning rates of GD, momentum, Adam and Quickprop are tuned by hand for each net."""
    sin = problem == "sin"
    return {
        "GD": (lambda: optimizers.SGD(0.25 if sin else 2.0), 10_000),
        "momentum": (lambda: optimizers.SGD(0.1 if sin else 0.5, momentum=0.9), 10_000),
        "Adam": (lambda: optimizers.Adam(0.05), 10_000),
        "L-BFGS": (lambda: optimizers.LBFGS(line_search="strong_wolfe"), 500),
        "CG (PR+)": (lambda: optimizers.ConjugateGradient(), 500),
        "LM": (lambda: optimizers.LevenbergMarquardt(), 100),
        "Rprop": (lambda: optimizers.Rprop(), 2000),
        "iRprop+": (lambda: optimizers.IRpropPlus(), 2000),
        "Quickprop": (lambda: optimizers.Quickprop(0.5 if sin else 2.0), 2000),
    }


class _Clock(callbacks.Callback):
    """Seconds since training began, at the end of every epoch."""

    def on_train_begin(self, logs=None):
        self.times, self.start = [], time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def train(build, x, y, make, iterations: int) -> dict:
    """One method's run: the loss at the start of every iteration and the seconds spent
    before it (``loss[k]``, ``seconds[k]``: after k iterations), ending with the final
    loss.  One untimed iteration on a copy first: the seconds are the method's, not the
    process's one-off start-up (the first fit compiles or loads the step's kernels; the
    first method timed without it paid about a second for it)."""
    warm_up = build()
    warm_up.compile(optimizer=make(), loss="mse")
    warm_up.fit(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    model = build()
    model.compile(optimizer=make(), loss="mse")
    clock = _Clock()
    history = model.fit(x, y, epochs=iterations, batch_size=len(x), shuffle=False, verbose=0,
                        callbacks=[clock])
    final = float(model.evaluate(x, y))
    return {"loss": [*history.history["loss"], final], "seconds": [0.0, *clock.times]}


def _reached(run: dict, target: float) -> dict:
    """Iterations and seconds until the loss first fell to ``target`` (None if never)."""
    hits = [k for k, value in enumerate(run["loss"]) if value <= target]
    k = hits[0] if hits else None
    return {"iterations": k, "seconds": None if k is None else run["seconds"][k],
            "final_loss": run["loss"][-1], "total_iterations": len(run["loss"]) - 1,
            "total_seconds": run["seconds"][-1]}


def compare(problem: str, seed: int = 0, quick: bool = False, cap: int | None = None) -> tuple:
    """(runs, summary) for problem "sin" or "xor": every method from the same weights
    (drawn with ``seed``), at most ``cap`` iterations each when given."""
    from ..datasets import make_sin
    from .xor import X_XOR, Y_XOR

    if problem == "sin":
        x, y = make_sin(100, noise=NOISE, random_state=seed)
        sizes, output, target = (1, 3, 1), None, SIN_TARGET
    else:
        x, y = X_XOR.astype(np.float64), Y_XOR.astype(np.float64)
        sizes, output, target = (2, 2, 1), "sigmoid", XOR_TARGET
    initial = _network(sizes, output, seed)
    initial.build((sizes[0],))
    weights = initial.get_weights()

    def build():
        model = _network(sizes, output, seed)
        model.build((sizes[0],))
        model.set_weights(weights)
        return model

    runs = {}
    for name, (make, iterations) in methods(problem).items():
        iterations = max(iterations // 10, 20) if quick else iterations
        runs[name] = train(build, x, y, make, min(iterations, cap or iterations))
    return runs, {name: _reached(run, target) for name, run in runs.items()}


def _figure(runs: dict, title: str, target: float):
    from .. import plot

    fig, (by_step, by_time) = plot.new_figure(ncols=2, size=(12, 4.4))
    for i, (name, run) in enumerate(runs.items()):
        color = plot.CLASS_COLORS[i % len(plot.CLASS_COLORS)]
        loss = np.asarray(run["loss"])
        by_step.plot(np.arange(len(loss)), loss, color=color, label=name)
        by_time.plot(run["seconds"], loss, color=color, label=name)
    for ax, label in ((by_step, "iteration"), (by_time, "seconds (log scale)")):
        ax.axhline(target, color="black", linestyle=":", linewidth=1)
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(ax.get_ylim()[0], 1e-6))  # below: rounding noise
        ax.set_xlabel(label)
        ax.set_ylabel("training MSE")
        ax.grid(alpha=0.3)
    by_step.set_xscale("symlog", linthresh=10)
    by_step.set_xlim(left=0)
    by_time.set_xscale("log")  # the point at 0 s (the initial loss) is left off
    by_step.legend(fontsize=8)
    by_step.set_title(title, fontsize=10)
    by_time.set_title("the same runs against wall-clock time", fontsize=10)
    return fig


@register("second-order", "GD, momentum, Adam, L-BFGS, conjugate gradient, "
          "Levenberg-Marquardt, Rprop, iRprop+ and Quickprop on the sin regression net "
          "(1-3-1) and the XOR net (2-2-1): loss against iterations and seconds",
          "Conjugate gradient (Fletcher & Reeves 1964; Polak & Ribiere 1969), "
          "Levenberg-Marquardt (Levenberg 1944; Marquardt 1963; Hagan & Menhaj 1994), "
          "Rprop (Riedmiller & Braun 1993; Igel & Husken 2000), Quickprop (Fahlman 1988), "
          "strong Wolfe line search (Nocedal & Wright 2006)",
          lesson=6,
          notice=(
          "Counted in iterations, L-BFGS, conjugate gradient and Levenberg-Marquardt reach "
          "the target tens of times sooner than gradient descent on the small sin net; on XOR "
          "some of them stall in a plateau - fewer steps is not the same as more reliable."))
def second_order(seed: int = 0, quick: bool = False, plots: bool = True):
    """GD, momentum, Adam, L-BFGS, conjugate gradient, Levenberg-Marquardt, Rprop, iRprop+
    and Quickprop on the sin regression net (1-3-1) and the XOR net (2-2-1): loss
    against iterations and seconds.

    Source: Conjugate gradient (Fletcher & Reeves 1964; Polak & Ribiere 1969),
    Levenberg-Marquardt (Levenberg 1944; Marquardt 1963; Hagan & Menhaj 1994), Rprop
    (Riedmiller & Braun 1993; Igel & Husken 2000), Quickprop (Fahlman 1988), strong
    Wolfe line search (Nocedal & Wright 2006).

    The experiment ``second-order`` (lesson 6): ``nnlearn experiments run second-order``
    or ``nnlearn.experiments.run('second-order')``, whose arguments it takes (``quick``:
    smaller sizes, ``plots``: draw the figures). Returns an :class:`ExperimentResult`
    (its numbers and figures)."""
    numbers, figures, lines = {}, {}, []
    for problem, target, what in (("sin", SIN_TARGET, "MSE <= 1.1 x noise variance"),
                                  ("xor", XOR_TARGET, f"MSE <= {XOR_TARGET}")):
        runs, summary = compare(problem, seed, quick)
        numbers[problem] = {"target_mse": target, "methods": summary,
                            "curves": {name: run["loss"] for name, run in runs.items()}}
        for name, s in summary.items():
            reached = (f"{what} after {s['iterations']} iterations, {s['seconds']:.3f} s"
                       if s["iterations"] is not None else f"not {what} in "
                       f"{s['total_iterations']} iterations")
            lines.append(f"{problem}, {name}: {reached}; final MSE {s['final_loss']:.4g}")
        if problem == "xor":  # 2-2-1 has local minima: how often each method escapes them
            inits = 2 if quick else XOR_INITS
            solved = {name: int(s["iterations"] is not None) for name, s in summary.items()}
            for other in range(seed + 1, seed + inits):
                for name, run in compare("xor", other, quick, cap=XOR_CAP)[1].items():
                    solved[name] += run["iterations"] is not None
            numbers["xor"].update(solved=solved, initial_weights=inits)
            lines.append(f"xor solved from {inits} initial weights (the first with each "
                         f"method's budget, the others with at most {XOR_CAP} iterations): "
                         + ", ".join(f"{name} {k}" for name, k in solved.items()))
        if plots:
            title = ("sin regression, 1-3-1 sigmoid, 100 points, noise 0.25" if problem == "sin"
                     else "XOR, 2-2-1 sigmoid, squared error")
            figures[f"{problem}_loss"] = _figure(runs, title, target)
    return ExperimentResult("second-order", numbers, figures, lines)
