"""nnlearn.plot: the plot functions draw what they are given and refuse what they
cannot draw."""

import io

import matplotlib
import numpy as np
import pytest

import nnlearn as nl
from nnlearn import plot

matplotlib.use("Agg")


def test_draw_network_from_sizes_and_from_a_model():
    fig = plot.draw_network([3, 5, 1])
    ax = fig.axes[0]
    circles = [p for p in ax.patches if type(p).__name__ == "Circle"]
    assert len(circles) == 3 + 5 + 1 + 2                    # two bias units
    arrows = [p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == (3 + 1) * 5 + (5 + 1) * 1
    model = nl.Sequential([nl.layers.Input(784), nl.layers.Dense(512),
                           nl.layers.Dense(10)])
    big = plot.draw_network(model, bias=False).axes[0]
    texts = [t.get_text() for t in big.texts]
    assert {"784", "512", "10"} <= set(texts) and "\u22ee" in texts
    with pytest.raises(ValueError, match="layer sizes"):
        plot.draw_network([3])
    with pytest.raises(ValueError, match="built"):
        plot.draw_network(nl.Sequential([nl.layers.Dense(3)]))


def test_decision_boundary_history_hinton_and_paths():
    X, y = nl.datasets.make_xor(100, random_state=0)
    fig = plot.plot_decision_boundary(lambda g: (g[:, 0] * g[:, 1] > 0).astype(float), X, y)
    assert fig.axes[0].images and len(fig.axes[0].collections) >= 2
    three = plot.plot_decision_boundary(lambda g: np.eye(3)[(g[:, 0] > 0) * 1 + (g[:, 1] > 0)],
                                        X, np.arange(100) % 3)
    assert three.axes[0].images
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot.plot_decision_boundary(lambda g: g, np.zeros((5, 3)))
    history = plot.plot_history({"loss": [3, 2, 1], "val_loss": [3, 2.5, 2],
                                 "accuracy": [0.1, 0.5, 0.9]})
    assert len(history.axes) == 2 and len(history.axes[0].lines) == 2
    with pytest.raises(ValueError, match="unknown series"):
        plot.plot_history({"loss": [1]}, keys=["acc"])
    W = np.array([[1.0, -0.5], [0.25, 0.0]])
    rects = plot.hinton(W).axes[0].patches
    assert len(rects) == 4 and rects[0].get_width() > rects[1].get_width() > rects[2].get_width()
    paths = {"a": np.array([[1.0, 1.0], [0.5, 0.5], [0.0, 0.0]])}
    fig = plot.plot_optimizer_paths(lambda a, b: a ** 2 + b ** 2, paths)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1.0, 0.5, 0.0])


def test_figures_have_a_png_repr_for_jupyter_and_pickle():
    import pickle

    fig = plot.draw_network([2, 3, 1])
    png = fig._repr_png_()                       # what IPython's PNG formatter calls
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    assert isinstance(fig, plot.NotebookFigure)
    assert type(pickle.loads(pickle.dumps(fig))).__name__ == "NotebookFigure"


def test_one_epoch_history_is_drawn_with_markers():
    fig = plot.plot_history({"loss": [0.5], "val_loss": [0.6], "accuracy": [0.8]})
    loss_panel, metric_panel = fig.axes
    assert all(line.get_marker() == "o" for line in loss_panel.get_lines())
    assert [line.get_label() for line in loss_panel.get_lines()] == ["loss", "val_loss"]
    assert metric_panel.get_lines()[0].get_marker() == "o"
    long = plot.plot_history({"loss": list(range(50, 0, -1))})
    assert long.axes[0].get_lines()[0].get_marker() in ("None", None, "")


def test_shared_axes_for_comparisons():
    fig, axes = plot.new_figure(ncols=2, sharey=True)
    axes[0].plot([0, 1], [0, 10])
    axes[1].plot([0, 1], [0, 1])
    assert axes[0].get_ylim() == axes[1].get_ylim()
    stats = [{"mean": 0.0, "std": s, "values": np.zeros(5)} for s in (0.9, 0.8)]
    fig = plot.plot_activation_stats(stats, ylim={"mean": (-1, 1), "std": (0, 1.3)})
    assert fig.axes[1].get_ylim() == (0, 1.3)


def test_draw_network_shows_the_learned_weights():
    pytest.importorskip("matplotlib")
    from matplotlib.patches import FancyArrowPatch

    model = nl.Sequential([nl.layers.Input(2), nl.layers.Dense(3, activation="tanh"),
                           nl.layers.Dense(1)], seed=0)
    model.build((2,))
    kernel = model.layers[1].kernel.data
    kernel[...] = [[1.0, -0.5, 0.0], [0.25, 2.0, -2.0]]
    model.layers[1].bias.data[...] = [0.0, 0.0, 0.0]
    fig = nl.plot.draw_network(model, weights=True)
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 3 * 3 + 4  # (2 inputs + bias) x 3, then (3 hidden + bias) x 1
    first = arrows[:9]  # into the hidden layer: bias row first in each unit's fan-in
    widths = sorted(round(a.get_linewidth(), 3) for a in first)
    assert widths[-1] == pytest.approx(3.0) and widths[0] == pytest.approx(0.3)
    colors = {tuple(round(c, 3) for c in a.get_edgecolor()[:3]) for a in first}
    assert len(colors) == 2  # positive and negative weights in two colours
    with pytest.raises(ValueError, match="weights=True needs a built model"):
        nl.plot.draw_network([2, 3, 1], weights=True)


def _unrolled_parts(fig):
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    red = [p for p in ax.patches if isinstance(p, FancyArrowPatch)
           and p.get_edgecolor()[:3] == pytest.approx((0xc0 / 255, 0x39 / 255, 0x2b / 255))]
    return boxes, red, [t.get_text() for t in ax.texts]


def test_draw_network_unrolls_a_recurrent_model_in_time():
    pytest.importorskip("matplotlib")
    many_to_one = nl.Sequential([nl.layers.Input((40, 1)), nl.layers.LSTM(32),
                                 nl.layers.Dropout(0.2), nl.layers.Dense(1)])
    fig = nl.plot.draw_network(many_to_one)
    boxes, recurrent, texts = _unrolled_parts(fig)
    # steps 1, 2, ..., 40 shown: 3 inputs + 3 LSTM copies + one Dense on the last step
    # (Dropout, without weights, is left out)
    assert len(boxes) == 3 + 3 + 1
    assert texts.count("LSTM (32)") == 3 and texts.count("Dense (1)") == 1
    assert ["$x_{1}$", "$x_{2}$", "$x_{40}$"] == [t for t in texts if t.startswith("$x")]
    assert {"t = 1", "t = 2", "t = 40", "\u2026", "h, c", "0"} <= set(texts)
    assert "Dropout (1)" not in texts
    # h_{t-1} -> h_t: 1 -> 2, 2 -> "...", "..." -> 40, plus the zero initial state
    assert len(recurrent) == 3 + 1
    fig.savefig(io.BytesIO(), format="png")


def test_draw_network_unrolls_bidirectional_and_sequence_outputs():
    pytest.importorskip("matplotlib")
    model = nl.Sequential([nl.layers.Input((3, 2)),
                           nl.layers.Bidirectional(nl.layers.GRU(4, return_sequences=True)),
                           nl.layers.SimpleRNN(5, return_sequences=True),
                           nl.layers.TimeDistributed(nl.layers.Dense(2))])
    boxes, recurrent, texts = _unrolled_parts(nl.plot.draw_network(model))
    assert len(boxes) == 4 * 3 and "\u2026" not in texts       # all three steps shown
    assert texts.count("Bi-GRU (2\u00d74)") == 3 and texts.count("Dense (2)") == 3
    # Bidirectional: 2 arrows each way + one zero state at each end; SimpleRNN: 2 + 1
    assert len(recurrent) == (2 * 2 + 2) + (2 + 1)
    with pytest.raises(ValueError, match="time_steps must be an integer >= 2; got 1"):
        nl.plot.draw_network(model, time_steps=1)
    with pytest.raises(ValueError, match="weights=True"):
        nl.plot.draw_network(model, weights=True)


def test_draw_network_draws_a_convolutional_model_as_feature_maps():
    """LeNet's layout: stacks of feature maps with their shapes, then the dense bars."""
    from matplotlib.patches import Rectangle

    from nnlearn.experiments.cnn import lenet

    model = lenet(seed=0)  # starts with Input((28, 28, 1)): built when drawn
    fig = plot.draw_network(model)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # not the arrows
    assert texts[:3] == ["input\n28x28x1", "Conv2D\n5x5, relu\n28x28x6",
                         "MaxPooling2D\n2x2\n14x14x6"]
    assert texts[-1] == "Dense\nsoftmax\n10"
    sheets = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert len(sheets) == 1 + 6 + 6 + 8 + 8 + 4  # channels drawn (at most 8 each), 4 bars
    with pytest.raises(ValueError, match="weights=True"):
        plot.draw_network(model, weights=True)
    unknown = nl.Sequential([nl.layers.Conv2D(4, 3), nl.layers.Flatten(), nl.layers.Dense(2)])
    with pytest.raises(ValueError, match="build the model first"):
        plot.draw_network(unknown)
