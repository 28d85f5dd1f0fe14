"""Linear models: regression by gradient descent, logistic regression on study
hours, softmax regression on grades, and L1 vs L2 on the order-20 polynomial."""

from __future__ import annotations

import numpy as np

from ..datasets import make_grades, make_line, make_sin, make_study_hours
from .registry import ExperimentResult, register


def _plot():
    from .. import plot

    return plot


@register("linear-regression", "y = a x + b fitted by gradient descent from a=-0.5, b=1.0; "
          "the line at epochs 0-1000 and the cost curve", "Linear regression by gradient descent",
          lesson=3,
          notice=(
          "The line turns towards the data and the cost falls fast, then slowly: after 1000 "
          "epochs a and b are close to, but not exactly at, the least-squares solution."))
def linear_regression(seed: int = 0, quick: bool = False, plots: bool = True):
    """Y = a x + b fitted by gradient descent from a=-0.5, b=1.0; the line at epochs 0-1000
    and the cost curve.

    Source: Linear regression by gradient descent.

    The experiment ``linear-regression`` (lesson 3): ``nnlearn experiments run linear-
    regression`` or ``nnlearn.experiments.run('linear-regression')``, whose arguments it
    takes (``quick``: smaller sizes, ``plots``: draw the figures). Returns an
    :class:`ExperimentResult` (its numbers and figures)."""
    from ..classic import LinearRegression

    x, y = make_line(100, noise=0.25, random_state=seed)
    epochs = (0, 10, 100, 500, 1000)
    # alpha = 0.005 on the cost sum(.)^2 / N is learning_rate 0.01 on the 1/(2N) cost
    model = LinearRegression(solver="gd", learning_rate=0.01, n_epochs=1000 if quick else 5000,
                             initial_weights=[1.0, -0.5], snapshot_epochs=epochs).fit(x, y)
    exact = LinearRegression().fit(x, y)
    snapshots = {e: np.ravel(w) for e, w in model.snapshots_.items()}  # (b, a)
    numbers = {
        "snapshots": {str(e): {"a": float(w[1]), "b": float(w[0])}
                      for e, w in snapshots.items()},
        "a": float(model.coef_[0]), "b": float(model.intercept_),
        "least_squares": {"a": float(exact.coef_[0]), "b": float(exact.intercept_)},
        "cost_first": model.cost_history_[0], "cost_last": model.cost_history_[-1],
        "cost_monotone": bool(np.all(np.diff(model.cost_history_) <= 1e-12)),
    }
    figures = {}
    if plots:
        plot = _plot()
        fits = {f"epoch {e}": (lambda g, w=w: w[0] + w[1] * g)
                for e, w in snapshots.items()}
        figures["fits"] = plot.plot_regression_fit(x, y, fits, truth=lambda g: 0.5 * g + 0.5,
                                                   title="Gradient descent: the line by epoch")
        figures["cost"] = plot.plot_history({"cost": model.cost_history_},
                                            title="Cost J(a, b) per epoch")
    return ExperimentResult("linear-regression", numbers, figures, [
        f"after {len(model.cost_history_) - 1} epochs: a = {numbers['a']:.4f}, "
        f"b = {numbers['b']:.4f} (least squares {exact.coef_[0]:.4f}, {exact.intercept_:.4f})",
        f"cost {numbers['cost_first']:.3f} -> {numbers['cost_last']:.4f}"])


@register("logistic-regression", "pass/fail against hours of study: the fitted probability "
          "curve", "Logistic regression",
          lesson=4,
          notice=(
          "The sigmoid turns the linear score into P(pass); the decision hours (P = 0.5) lie "
          "where the two groups overlap, and the curve's steepness says how sure the model "
          "is."))
def logistic_regression(seed: int = 0, quick: bool = False, plots: bool = True):
    """Pass/fail against hours of study: the fitted probability curve.

    Source: Logistic regression.

    The experiment ``logistic-regression`` (lesson 4): ``nnlearn experiments run
    logistic-regression`` or ``nnlearn.experiments.run('logistic-regression')``, whose
    arguments it takes (``quick``: smaller sizes, ``plots``: draw the figures). Returns
    an :class:`ExperimentResult` (its numbers and figures)."""
    from ..classic import LogisticRegression

    hours, passed = make_study_hours(100, random_state=seed)
    scale = hours.max()
    model = LogisticRegression(learning_rate=0.5, n_epochs=1000 if quick else 5000)
    model.fit(hours / scale, passed)
    a, b = float(model.coef_[0]), float(model.intercept_)
    numbers = {"a": a / scale, "b": b, "accuracy": float(model.score(hours / scale, passed)),
               "hours_at_p_half": float(-b / a * scale),
               "p_at_20h": float(model.predict_proba([[20 / scale]])[0, 1]),
               "p_at_45h": float(model.predict_proba([[45 / scale]])[0, 1])}
    figures = {}
    if plots:
        fig, ax = _plot().new_figure(size=(6.4, 4))
        grid = np.linspace(0, 60, 300)
        ax.scatter(hours[:, 0], passed, c=passed, cmap="coolwarm", s=18, label="students")
        ax.plot(grid, model.predict_proba((grid / scale)[:, None])[:, 1], "k",
                label="P(pass | hours)")
        ax.axvline(numbers["hours_at_p_half"], color="grey", ls=":", label="P = 0.5")
        ax.set_xlabel("hours of study")
        ax.set_ylabel("passed")
        ax.legend(fontsize=8)
        figures["probability"] = fig
    return ExperimentResult("logistic-regression", numbers, figures, [
        f"accuracy {numbers['accuracy']:.3f}; P(pass) = 0.5 at "
        f"{numbers['hours_at_p_half']:.1f} h; P(20 h) = {numbers['p_at_20h']:.3f}, "
        f"P(45 h) = {numbers['p_at_45h']:.3f}"])


@register("softmax-regression", "four grades from knowledge and study time: softmax "
          "probability surfaces", "Multinomial logistic (softmax) regression",
          lesson=4,
          notice=(
          "Softmax regression splits the plane into four regions with straight boundaries; "
          "the colour fades where two grades compete, and test accuracy is close to train "
          "accuracy (a linear model barely overfits)."))
def softmax_regression(seed: int = 0, quick: bool = False, plots: bool = True):
    """Four grades from knowledge and study time: softmax probability surfaces.

    Source: Multinomial logistic (softmax) regression.

    The experiment ``softmax-regression`` (lesson 4): ``nnlearn experiments run softmax-
    regression`` or ``nnlearn.experiments.run('softmax-regression')``, whose arguments
    it takes (``quick``: smaller sizes, ``plots``: draw the figures). Returns an
    :class:`ExperimentResult` (its numbers and figures)."""
    from ..classic import SoftmaxRegression

    X, y = make_grades(1000, random_state=seed)
    X_test, y_test = make_grades(1000, random_state=seed + 1)
    scale = np.array([100.0, 50.0])
    model = SoftmaxRegression(learning_rate=0.5, n_epochs=1000 if quick else 3000)
    model.fit(X / scale, y)
    numbers = {"train_accuracy": float(model.score(X / scale, y)),
               "test_accuracy": float(model.score(X_test / scale, y_test)),
               "class_counts": np.bincount(y, minlength=4).tolist()}
    figures = {}
    if plots:
        plot = _plot()
        fig, axes = plot.new_figure(ncols=2, size=(11, 4.8))
        plot.plot_decision_boundary(model, X, y, ax=axes[0], transform=lambda g: g / scale,
                                    margin=2, title="predicted grade")
        proba = lambda g: model.predict_proba(g / scale)[:, 3]  # noqa: E731
        plot.plot_decision_boundary(proba, X, None, ax=axes[1], margin=2,
                                    title="P(grade 3)", colorbar_label="P(grade 3)")
        for ax in axes:
            ax.set_xlabel("initial knowledge")
            ax.set_ylabel("study time [h]")
        figures["probabilities"] = fig
    return ExperimentResult("softmax-regression", numbers, figures, [
        f"train accuracy {numbers['train_accuracy']:.3f}, "
        f"test accuracy {numbers['test_accuracy']:.3f}"])


@register("polynomial-regularization", "order-20 polynomial on 50 noisy sin points: no "
          "penalty, Ridge (L2, alpha 0.1) and Lasso (L1, alpha 0.001)",
          "To regularize or not: ridge (Hoerl & Kennard 1970) vs lasso (Tibshirani 1996)",
          lesson=8,
          notice=(
          "Without a penalty the order-20 polynomial's coefficients explode (~1e4) and it "
          "wiggles between the points; Ridge shrinks them all, Lasso sets most of them "
          "exactly to zero."))
def polynomial_regularization(seed: int = 0, quick: bool = False, plots: bool = True):
    """Order-20 polynomial on 50 noisy sin points: no penalty, Ridge (L2, alpha 0.1) and
    Lasso (L1, alpha 0.001).

    Source: To regularize or not: ridge (Hoerl & Kennard 1970) vs lasso (Tibshirani
    1996).

    The experiment ``polynomial-regularization`` (lesson 8): ``nnlearn experiments run
    polynomial-regularization`` or ``nnlearn.experiments.run('polynomial-
    regularization')``, whose arguments it takes (``quick``: smaller sizes, ``plots``:
    draw the figures). Returns an :class:`ExperimentResult` (its numbers and figures)."""
    from ..classic import Lasso, LinearRegression, Ridge
    from ..preprocessing import PolynomialFeatures

    x, y = make_sin(50, noise=0.1, random_state=seed)
    powers = PolynomialFeatures(degree=19, include_bias=False)  # x^1 .. x^19
    features = powers.fit_transform(x)
    models = {"none": LinearRegression(), "L2 (Ridge 0.1)": Ridge(alpha=0.1),
              "L1 (Lasso 0.001)": Lasso(alpha=0.001, max_iter=2000 if quick else 20000)}
    grid = np.linspace(-1, 1, 200)[:, None]
    numbers = {}
    for name, model in models.items():
        model.fit(features, y)
        error = model.predict(powers.transform(grid)) - np.sin(np.pi * grid[:, 0])
        numbers[name] = {"coef": model.coef_.tolist(),
                         "max_abs_coef": float(np.abs(model.coef_).max()),
                         "zero_coefs": int(np.sum(model.coef_ == 0)),
                         "rmse_vs_truth": float(np.sqrt(np.mean(error ** 2)))}
    figures = {}
    if plots:
        plot = _plot()
        fig, axes = plot.new_figure(ncols=3, nrows=2, size=(13, 7))
        for col, (name, model) in enumerate(models.items()):
            plot.plot_regression_fit(x, y, {name: lambda g, m=model: m.predict(
                powers.transform(g[:, None]))}, truth=lambda g: np.sin(np.pi * g),
                ax=axes[0, col], title=name, ylim=(-1.5, 1.5))
            axes[1, col].bar(np.arange(1, 20), model.coef_, color="C0")
            axes[1, col].set_yscale("symlog", linthresh=1e-2)
            axes[1, col].set_xlabel("power of x")
            axes[1, col].set_title("coefficients")
        figures["fits"] = fig
    return ExperimentResult("polynomial-regularization", numbers, figures, [
        f"{name}: max |coef| {v['max_abs_coef']:.3g}, {v['zero_coefs']} zero coefficients, "
        f"RMSE vs sin {v['rmse_vs_truth']:.3f}" for name, v in numbers.items()])
