"""Recurrent networks: forecasting a sine wave with an Elman network (Elman 1990), and the
unstable-gradient lesson - gradients through time vanish for a simple tanh RNN
(Hochreiter 1991; Bengio, Simard & Frasconi 1994) but not through the LSTM's cell state
(Hochreiter & Schmidhuber 1997; Gers et al. 2000) or the GRU's gated update (Cho et al.
2014); exploding gradients tamed by clipping the gradient norm (Pascanu, Mikolov &
Bengio 2013)."""

from __future__ import annotations

import numpy as np

from .. import Sequential, layers, optimizers
from ..datasets import make_adding_problem, make_sine_forecast
from .registry import ExperimentResult, register

KINDS = ("SimpleRNN", "LSTM", "GRU")
COLORS = {"SimpleRNN": "#d62728", "LSTM": "#1f77b4", "GRU": "#2ca02c"}


# --------------------------------------------------------------------------------------
# rnn-sine
# --------------------------------------------------------------------------------------
def _sine_figure(model, steps, seed):
    from .. import plot

    rng = np.random.default_rng(seed + 100)
    period, phase, total = 22.0, rng.uniform(0, 2 * np.pi), 160
    t = np.arange(total)
    clean = np.sin(2 * np.pi * t / period + phase)
    noisy = clean + rng.normal(0, 0.05, total)
    windows = np.stack([noisy[i:i + steps] for i in range(total - steps)])[..., None]
    one_step = model.predict(windows)[:, 0]  # predicts clean[steps:]
    window = list(noisy[:steps])  # free-running: the forecasts fed back as inputs
    free = []
    for _ in range(total - steps):
        value = float(model.predict(np.array(window[-steps:])[None, :, None])[0, 0])
        free.append(value)
        window.append(value)
    fig, ax = plot.new_figure(size=(10, 4))
    ax.plot(t, noisy, ".", color="0.6", ms=3, label="observed (noisy)")
    ax.plot(t, clean, "-", color="0.2", lw=1, label="truth")
    ax.plot(t[steps:], one_step, "-", color="#1f77b4", lw=1.5, label="one step ahead")
    ax.plot(t[steps:], free, "--", color="#d62728", lw=1.5,
            label="free-running (own forecasts fed back)")
    ax.axvline(steps - 0.5, color="0.5", lw=0.8)
    ax.set_xlabel("time step")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"SimpleRNN forecast of a sine of period {period:.0f} (first {steps} steps "
                 "given)")
    free = np.array(free)
    return fig, float(np.mean((one_step - clean[steps:]) ** 2)), \
        float(np.mean((free - clean[steps:]) ** 2)), float(free[len(free) // 2:].std())


@register("rnn-sine", "Elman network (SimpleRNN(32), tanh) forecasting a noisy sine wave one "
          "step ahead from windows of 40 steps; one-step and free-running forecasts",
          "Elman 1990 (simple recurrent networks); Werbos 1990 (backpropagation through time)",
          lesson=11,
          notice=(
          "The network sees only the last 40 noisy values, yet its one-step forecast follows "
          "the clean wave far better than repeating the last value: its state carries the "
          "phase and the period from step to step. Fed its own forecasts, it keeps "
          "oscillating to the end (it has learned the wave's dynamics, not just its last "
          "values), but its errors accumulate: period and amplitude are off, and the "
          "phase drifts within a few periods."))
def rnn_sine(seed: int = 0, quick: bool = False, plots: bool = True):
    """An Elman network (SimpleRNN(32), tanh) forecasting a noisy sine wave one step
    ahead: one-step and free-running forecasts against the truth.

    Source: Elman 1990; Werbos 1990 (backpropagation through time).
    """
    steps = 40
    n, epochs = (600, 4) if quick else (2000, 12)
    x, y = make_sine_forecast(n, steps, random_state=seed)
    x_test, y_test = make_sine_forecast(500, steps, random_state=seed + 1)
    model = Sequential([layers.Input((steps, 1)), layers.SimpleRNN(32), layers.Dense(1)],
                       seed=seed, name="elman")
    model.compile(optimizers.Adam(0.005), "mse")
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, seed=seed)
    mse = float(np.mean((model.predict(x_test) - y_test) ** 2))
    naive = float(np.mean((x_test[:, -1, 0] - y_test[:, 0]) ** 2))
    numbers = {"train_windows": n, "steps": steps, "epochs": epochs, "test_mse": mse,
               "last_value_mse": naive, "history": history.history}
    figures = {}
    if plots:
        figures["forecast"], one, free, spread = _sine_figure(model, steps, seed)
        numbers["one_step_mse_long_wave"], numbers["free_running_mse"] = one, free
        numbers["free_running_std_second_half"] = spread
    return ExperimentResult("rnn-sine", numbers, figures, [
        f"test MSE {mse:.4f} one step ahead (repeating the last value: {naive:.4f})"])


# --------------------------------------------------------------------------------------
# vanishing-gradients
# --------------------------------------------------------------------------------------
def recurrent_layer(kind: str, units: int, **kwargs):
    """A recurrent layer by class name ("SimpleRNN", "LSTM" or "GRU")."""
    return getattr(layers, kind)(units, **kwargs)


def gradient_through_time(kind: str, steps: int = 100, units: int = 32, seed: int = 0):
    """||dL/dx_t|| for each step t (mean over 64 random sequences) where L = sum of the
    last state, at initialization: how much the last state still depends on the input
    steps - t steps back."""
    from .. import Tensor, grad

    rng = np.random.default_rng(seed)
    layer = recurrent_layer(kind, units)
    layer.build((steps, 2), np.random.default_rng(seed), np.float64)
    x = Tensor(rng.uniform(-1, 1, (64, steps, 2)), requires_grad=True, dtype=np.float64)
    out = layer(x)
    (dx,) = grad(out, [x], gradient=np.ones(out.shape))
    return np.linalg.norm(dx, axis=2).mean(axis=0)  # (steps,), index t


def adding_problem_run(kind: str, delay: int, seed: int = 0, n: int = 3000, epochs: int = 8,
                       units: int = 16):
    """Train kind(units) + Dense(1) on the adding problem with sequences of ``delay``
    steps (Adam 0.01, batch 32); returns (test MSE, the history's losses)."""
    x, y = make_adding_problem(n, delay, random_state=seed)
    x_test, y_test = make_adding_problem(1000, delay, random_state=seed + 1)
    model = Sequential([layers.Input((delay, 2)), recurrent_layer(kind, units),
                        layers.Dense(1)], seed=seed)
    model.compile(optimizers.Adam(0.01), "mse")
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, seed=seed)
    mse = float(np.mean((model.predict(x_test)[:, 0] - y_test) ** 2))
    return mse, history.history["loss"], model


def trained_gradient_profile(model, delay: int, seed: int = 0) -> np.ndarray:
    """||d prediction / d x_t|| for each step t (mean over 256 test sequences) of a
    trained adding-problem model: which steps its answer still depends on."""
    from .. import Tensor, grad

    x, _ = make_adding_problem(256, delay, random_state=seed + 2)
    xt = Tensor(x.astype(np.float32), requires_grad=True)
    out = model(xt)
    (dx,) = grad(out, [xt], gradient=np.ones(out.shape, np.float32))
    return np.linalg.norm(dx.astype(np.float64), axis=2).mean(axis=0)


def clipping_run(clip: float | None, seed: int = 0, delay: int = 30, steps: int = 150,
                 learning_rate: float = 0.05):
    """Plain SGD on the adding problem with a ReLU SimpleRNN whose recurrent kernel is
    orthogonal times 1.6 (every singular value above 1: the state and the gradients
    through time grow like 1.6^T), with or without clipping the gradient's global norm to ``clip``
    (Pascanu, Mikolov & Bengio 2013: g <- g clip / ||g|| when ||g|| > clip).  Returns
    the loss and the gradient norm (before clipping) of every step."""
    from .. import grad, no_grad
    from ..autograd import mean_squared_error

    x, y = make_adding_problem(steps * 32, delay, random_state=seed)
    model = Sequential([layers.Input((delay, 2)), layers.SimpleRNN(
        16, activation="relu", recurrent_initializer={"class_name": "orthogonal",
                                                      "config": {"gain": 1.6}}),
        layers.Dense(1)], seed=seed)
    model.build((delay, 2))
    losses, norms = [], []
    for step in range(steps):
        xb, yb = x[step * 32:(step + 1) * 32], y[step * 32:(step + 1) * 32, None]
        with np.errstate(all="ignore"):  # the unclipped run overflows on purpose
            loss = mean_squared_error(model(xb.astype(np.float32)), yb.astype(np.float32))
            grads = grad(loss, model.params)
            norm = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2))
                                     for g in grads)))
        losses.append(float(loss.data))
        norms.append(norm)
        if not np.isfinite(norm):
            break
        scale = clip / norm if clip is not None and norm > clip else 1.0
        with no_grad():
            for p, g in zip(model.params, grads):
                p.data -= (learning_rate * scale) * g
    return losses, norms


def _gradient_figure(profiles: dict, steps: int, trained: dict):
    from .. import plot

    fig, axes = plot.new_figure(ncols=2, size=(12, 4.2))
    back = np.arange(steps)[::-1]  # steps back from the end
    for kind, norms in profiles.items():
        axes[0].semilogy(back, np.maximum(norms, 1e-30), color=COLORS[kind], label=kind)
    axes[0].set_xlabel("steps back from the last state, $T - t$")
    axes[0].set_ylabel(r"$\|\partial h_T / \partial x_t\|$ (mean over sequences)")
    axes[0].set_title("at initialization (32 units, random inputs)")
    for kind, norms in trained.items():
        axes[1].semilogy(np.arange(len(norms))[::-1], np.maximum(norms, 1e-30),
                         color=COLORS[kind], label=kind)
    axes[1].set_xlabel("steps back from the answer, $T - t$")
    axes[1].set_ylabel(r"$\|\partial \hat{y} / \partial x_t\|$ (mean over sequences)")
    axes[1].set_title(f"after training on the adding problem ({len(norms)} steps)"
                      if trained else "after training")
    for ax in axes:
        ax.invert_xaxis()
        ax.legend(fontsize=8)
    fig.suptitle("how far back the gradient reaches")
    return fig


def _adding_figure(table: dict, delays):
    from .. import plot

    fig, ax = plot.new_figure(size=(7.5, 4.2))
    for kind, row in table.items():
        ax.plot(delays, [row[str(d)] for d in delays], "o-", color=COLORS[kind], label=kind)
    ax.axhline(2 / 12, color="0.4", ls="--", lw=1, label="always answering 1 (0.167)")
    ax.axhline(0.01, color="0.6", ls=":", lw=1, label="MSE 0.01")
    ax.set_yscale("log")
    ax.set_xticks(list(delays))
    ax.set_xlabel("sequence length (the delay to bridge)")
    ax.set_ylabel("test MSE")
    ax.set_title("the adding problem (Hochreiter & Schmidhuber 1997)")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))  # clear of the lines
    return fig


def _clipping_figure(runs: dict, clip: float):
    from .. import plot

    fig, axes = plot.new_figure(ncols=2, size=(11, 4), sharex=True)
    # the unclipped run is drawn last (on top) with markers: it lasts only a step or two
    styles = (dict(color="#d62728", marker="o", ms=5, zorder=3), dict(color="#1f77b4"))
    for (label, (losses, norms)), style in reversed(list(zip(runs.items(), styles))):
        for ax, values in zip(axes, (norms, losses)):
            ax.semilogy(np.arange(len(values)), values, label=label, **style)
            broken = np.flatnonzero(~np.isfinite(values))
            if broken.size:  # where the weights overflowed
                ax.axvline(broken[0], color=style["color"], ls="--", lw=1)
                ax.annotate(f"step {broken[0]}: NaN,\nthe weights blew up", (broken[0], 0.9),
                            xycoords=("data", "axes fraction"), xytext=(6, 0),
                            textcoords="offset points", color=style["color"], fontsize=8,
                            va="top")
    axes[0].axhline(clip, color="0.5", ls=":", lw=1, label=f"clip threshold {clip}")
    axes[0].set_ylabel("gradient norm ||g|| (before clipping)")
    axes[1].set_ylabel("training loss (MSE)")
    for ax in axes:
        ax.set_xlabel("SGD step")
        ax.legend(fontsize=8)
    fig.suptitle("exploding gradients: ReLU SimpleRNN, recurrent kernel 1.6 x orthogonal")
    return fig


@register("vanishing-gradients", "Gradient norm w.r.t. inputs T steps back for SimpleRNN (tanh), "
          "LSTM and GRU; the adding problem as the delay grows (16 units, Adam); SGD with and "
          "without gradient-norm clipping on an exploding ReLU RNN",
          "Hochreiter 1991; Bengio, Simard & Frasconi 1994 (vanishing gradients); Hochreiter "
          "& Schmidhuber 1997 (LSTM, the adding problem); Gers et al. 2000 (forget gate); "
          "Cho et al. 2014 (GRU); Pascanu, Mikolov & Bengio 2013 (exploding gradients, "
          "clipping)",
          lesson=11,
          notice=(
          "At initialization every gradient shrinks exponentially with the steps back, the "
          "gated networks' even faster than the SimpleRNN's (the LSTM's forget gate starts "
          "near 0.73, the GRU's update gate near 0.5): the gates are no head start, but a "
          "path that training can open. On the adding problem the SimpleRNN bridges a delay "
          "of 10 but from 25 on stays near the 0.167 of always answering 1, while the LSTM "
          "and the GRU stay below 0.01 at every delay. Trained with delay 50, the LSTM's "
          "answer depends on inputs 50 steps back about as much as on the last ones; the "
          "SimpleRNN's gradient still dies within a few dozen steps. Without clipping, the "
          "gradient norm of the exploding RNN jumps "
          "by orders of magnitude and one step throws the weights away; clipped to norm 1, "
          "the same run trains."))
def vanishing_gradients(seed: int = 0, quick: bool = False, plots: bool = True):
    """Gradients through time for SimpleRNN, LSTM and GRU, the adding problem as the
    delay grows, and gradient clipping taming an exploding network.

    Source: Hochreiter 1991; Bengio, Simard & Frasconi 1994 (vanishing gradients);
    Hochreiter & Schmidhuber 1997 (LSTM, the adding problem); Cho et al. 2014 (GRU);
    Pascanu, Mikolov & Bengio 2013 (clipping).
    """
    steps = 100
    profiles = {kind: gradient_through_time(kind, steps, seed=seed) for kind in KINDS}
    # Three delays even in the quick run, so that the figure shows the trend: the
    # SimpleRNN bridges 10 steps but not 25 or 50; the gated networks bridge all three.
    delays = (10, 25, 50)
    table = {kind: {} for kind in KINDS}
    curves, trained = {}, {}
    for kind in KINDS:
        for delay in delays:
            mse, losses, model = adding_problem_run(kind, delay, seed)
            table[kind][str(delay)] = mse
            curves[f"{kind}_{delay}"] = losses
            if delay == delays[-1]:
                trained[kind] = trained_gradient_profile(model, delay, seed)
    clip = 1.0
    runs = {"no clipping": clipping_run(None, seed), f"clipped to norm {clip}":
            clipping_run(clip, seed)}
    numbers = {
        "gradient_norm_50_steps_back": {k: float(v[steps - 1 - 50]) for k, v in
                                        profiles.items()},
        "gradient_norm_last_step": {k: float(v[-1]) for k, v in profiles.items()},
        "trained_gradient_first_over_last_step": {k: float(v[0] / v[-1]) for k, v in
                                                  trained.items()},
        "adding_problem_test_mse": table, "baseline_mse": 2 / 12, "delays": list(delays),
        "adding_problem_losses": curves,
        "clipping": {label: {"max_gradient_norm": float(np.nanmax(norms)),
                             "final_loss": float(losses[-1]), "steps": len(losses)}
                     for label, (losses, norms) in runs.items()},
    }
    figures = {}
    if plots:
        figures["gradient_through_time"] = _gradient_figure(profiles, steps, trained)
        figures["adding_problem"] = _adding_figure(table, delays)
        figures["clipping"] = _clipping_figure(runs, clip)
    d = delays[-1]
    return ExperimentResult("vanishing-gradients", numbers, figures, [
        "gradient norm 50 steps back / at the last step: " + ", ".join(
            f"{k} {profiles[k][steps - 51]:.1e} / {profiles[k][-1]:.1e}" for k in KINDS),
        f"adding problem, delay {d}: " + ", ".join(f"{k} MSE {table[k][str(d)]:.4f}"
                                                   for k in KINDS) + " (answering 1: 0.167)",
        "max gradient norm without / with clipping: " + " / ".join(
            f"{v['max_gradient_norm']:.3g}" for v in numbers["clipping"].values())])
