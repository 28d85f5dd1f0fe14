"""The curriculum's pictures, for your own models (optional extra: ``pip install "nnlearn[plot]"``).

Every function draws on a Matplotlib ``Axes`` you pass (``ax=``) or on a new
``matplotlib.figure.Figure`` and returns the figure.  Figures are created without pyplot,
so nothing here needs a display: ``fig.savefig("net.png")`` works on a headless server.
In Jupyter they display inline as PNG images with no ``%matplotlib`` magic (they are a
:class:`matplotlib.figure.Figure` subclass with IPython's ``_repr_png_`` hook).

- :func:`draw_network` - a network diagram: circles for neurons, arrows for weights,
  bias units (+1) that receive no connections; a functional model's graph of layers.
- :func:`plot_history` - loss and metric curves from ``Sequential.fit``.
- :func:`plot_decision_boundary` - class regions and probability shading on the plane
  (AND/OR/XOR and softmax pictures, TensorFlow Playground's output map).
- :func:`plot_activation_stats` - per-layer mean, std and histograms (the
  initialization study of Karpathy's CS231n course).
- :func:`plot_optimizer_paths` - a 2-D objective's contours with each optimizer's path.
- :func:`hinton` - a Hinton diagram of a weight matrix (square area ~ |w|, colour = sign).
- :func:`plot_regression_fit` - data, the true function and fits (the regression experiments).
- :func:`plot_lr_find` - the learning-rate range test of :func:`nnlearn.lr_find`.
- :func:`draw_graph` - the computation graph behind a tensor, each node with its value
  and gradient (micrograd's ``draw_dot``, drawn with Matplotlib alone).

This module is long because it is a catalogue of independent figures, one function each
(with its private helpers beside it), sharing only the figure set-up at the top.
"""

from __future__ import annotations

import numpy as np

__all__ = ["draw_network", "plot_history", "plot_decision_boundary", "plot_activation_stats",
           "plot_optimizer_paths", "hinton", "plot_regression_fit", "draw_graph", "plot_lr_find",
           "new_figure"]

CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def require_matplotlib():
    """Raise ImportError with the install command when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("nnlearn.plot needs matplotlib: pip install matplotlib (nnlearn's "
                          'plot extra: pip install ".[plot]" in nnlearn\'s folder)') from None


_FIGURE_CLASS = None


def _figure_class():
    """``matplotlib.figure.Figure`` with a PNG representation for IPython (created on
    first use, so importing nnlearn.plot does not import matplotlib)."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class NotebookFigure(Figure):
            """A pyplot-free Figure that Jupyter displays inline.

            IPython shows an object by calling its ``_repr_png_`` (and friends); a plain
            ``Figure`` built without pyplot has none until ``%matplotlib inline`` registers
            a formatter, so a notebook cell ending in ``fig`` would print
            ``<Figure size ... with 1 Axes>``.  This class renders itself with the Agg
            canvas instead.
            """

            def _repr_png_(self):
                import io

                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
                return buffer.getvalue()

        NotebookFigure.__module__ = __name__
        NotebookFigure.__qualname__ = "NotebookFigure"
        _FIGURE_CLASS = NotebookFigure
    return _FIGURE_CLASS


def __getattr__(name):  # nnlearn.plot.NotebookFigure, created on first use (for pickle)
    if name == "NotebookFigure":
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def new_figure(ncols: int = 1, nrows: int = 1, size=(6.4, 4.8), sharex=False, sharey=False,
               **subplot_kw):
    """A pyplot-free Figure and its axes (an array when there is more than one).

    The figure displays inline in Jupyter (it has a ``_repr_png_``); ``sharex`` /
    ``sharey`` are passed to :meth:`matplotlib.figure.Figure.subplots` (use them when the
    panels are compared with each other).
    """
    require_matplotlib()
    fig = _figure_class()(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, sharex=sharex, sharey=sharey,
                        subplot_kw=subplot_kw or None)
    return fig, axes


def _figure_and_axes(ax, size=(6.4, 4.8)):
    if ax is not None:
        return ax.figure, ax
    return new_figure(size=size)


# -- network diagram -----------------------------------------------------------------------
def _layer_sizes(network) -> list:
    if hasattr(network, "layers"):  # a Sequential
        from .layers import Dense

        dense = [layer for layer in network.layers if isinstance(layer, Dense)]
        if not network.built and network.input_shape is not None:
            network.build(network.input_shape)
        if not dense or not network.built:
            raise ValueError("draw_network: the model must be built and contain Dense layers "
                             "(call model.build(input_shape) first)")
        return [int(dense[0].kernel.shape[0])] + [layer.units for layer in dense]
    sizes = [int(n) for n in network]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"draw_network: expected layer sizes like [3, 5, 1] (input, hidden..., "
                         f"output), each >= 1; got {list(network)}")
    return sizes


def draw_network(network, bias: bool = True, max_neurons: int = 10, ax=None,
                 labels: bool = True, weights: bool = False, time_steps: int = 3):
    """A network diagram: neurons as circles in columns, an arrow for every weight.

    A Sequential with recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional) is drawn
    unrolled in time instead (Goodfellow, Bengio & Courville 2016, *Deep Learning*,
    section 10.1, figure 10.3): time runs left to right, the layers stack bottom to top,
    each layer is a box per step, and the recurrent connections ``h_{t-1} -> h_t`` are the
    arrows between a recurrent layer's consecutive copies (both ways for Bidirectional).
    A layer that returns only its last state feeds the layers above from its last step.

    A functional model (``nl.Model(inputs, outputs)``) is drawn as its graph: a box per
    node (the layer's name, class and output shape), an arrow from each node to the nodes
    that read it, the inputs on the left and each node one column right of the deepest
    node it reads (a layered drawing, Sugiyama, Tagawa & Toda 1981); a shared layer is a
    box per call, its name followed by the call's number.

    A Sequential with convolutional or pooling layers is drawn as LeCun et al. (1998)
    drew LeNet-5: each layer's output as a stack of feature maps (one sheet per channel,
    sized by height x width), flat layers as bars, the layer and its output shape below.

    Parameters
    ----------
    network : a built Sequential, or layer sizes ``[n_inputs, hidden..., n_outputs]``.
    bias : draw a bias unit (+1) on top of the input and hidden layers; it feeds the next
        layer but receives no connections.
    max_neurons : larger layers show their first and last units with a "..." between
        and their size written below (a 784-input layer stays readable).
    weights : with a Sequential, draw what it learned: each arrow's width grows with |w|
        (relative to the largest weight of its layer) and its colour gives the sign (red
        positive, blue negative), as TensorFlow Playground draws them.
    time_steps : for a recurrent model, how many steps to draw (the first ones and the
        last, with "..." between when the sequence is longer).
    """
    if hasattr(network, "chain_reason"):  # a functional model: its graph of layers
        if weights:
            raise ValueError("draw_network: weights=True draws a stack's Dense weights; a "
                             "functional model is drawn as its graph of layers")
        return _draw_layer_graph(network, ax, labels)
    if _is_convolutional_model(network):
        if weights:
            raise ValueError("draw_network: weights=True draws Dense weights; a model with "
                             "convolutional layers is drawn as feature maps, without weights")
        return _draw_feature_maps(network, ax, labels)
    if _is_recurrent_model(network):
        if weights:
            raise ValueError("draw_network: weights=True draws Dense weights; a model with "
                             "recurrent layers is drawn unrolled, without weights")
        return _draw_unrolled(network, time_steps, ax, labels)
    sizes = _layer_sizes(network)
    require_matplotlib()
    matrices = _dense_weights(network) if weights else None
    columns = _neuron_columns(sizes, bias, max_neurons)
    top = max(entry[0] for col in columns for entry in col)
    bottom = min(entry[0] for col in columns for entry in col)
    width, height = 2.0 * (len(sizes) - 1) + 2.4, top - bottom + 2.7
    fig, ax = _figure_and_axes(ax, size=(max(4.0, 0.8 * width), max(3.0, 0.8 * height)))
    _draw_weights(ax, columns, matrices)
    _draw_neurons(ax, columns)
    if labels:
        _label_layers(ax, columns, sizes, top, bottom)
    ax.set_xlim(-1.2, 2.0 * (len(sizes) - 1) + 1.2)
    ax.set_ylim(bottom - 1.1, top + 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


_NEURON_RADIUS = 0.22


def _dense_weights(network) -> list:
    """(kernel, bias or None) of each Dense layer of a built Sequential."""
    from .layers import Dense

    if not hasattr(network, "layers"):
        raise ValueError("draw_network: weights=True needs a built model, not layer sizes")
    return [(layer.kernel.data, None if layer.bias is None else layer.bias.data)
            for layer in network.layers if isinstance(layer, Dense)]


def _neuron_columns(sizes, bias: bool, max_neurons: int) -> list:
    """Per layer, the (y, kind, unit) of each drawn unit: kind in {"unit", "bias", "more"}
    ("more" stands for the units left out of a large layer), unit its index in the layer
    (None for the bias and the ellipsis)."""
    columns = []
    for index, n in enumerate(sizes):
        shown = n if n <= max_neurons else max_neurons
        ys = list(np.arange(shown) - (shown - 1) / 2)[::-1]
        units = [(y, "unit", position) for position, y in enumerate(ys)]
        if n > max_neurons:  # the middle one becomes an ellipsis; the rest count from the end
            middle = shown // 2
            units = [(y, "more", None) if position == middle else
                     (y, "unit", position if position < middle else n - (shown - position))
                     for y, _, position in units]
        if bias and index < len(sizes) - 1:
            units.insert(0, (ys[0] + 1.2, "bias", None))
        columns.append(units)
    return columns


def _draw_weights(ax, columns, matrices=None) -> None:
    """An arrow from every unit (and bias) of a layer to every unit of the next; with
    ``matrices`` (kernel, bias) per layer, its width and colour show the weight."""
    from matplotlib.patches import FancyArrowPatch

    radius = _NEURON_RADIUS
    n_arrows = sum(len(a) * len(b) for a, b in zip(columns, columns[1:]))
    head = "-|>" if n_arrows <= 80 and matrices is None else "-"  # heads where readable
    for index in range(1, len(columns)):
        x0, x1 = 2.0 * (index - 1), 2.0 * index
        kernel, bias = matrices[index - 1] if matrices else (None, None)
        largest = max(float(np.abs(kernel).max()) if kernel is not None else 0.0,
                      float(np.abs(bias).max()) if bias is not None else 0.0) or 1.0
        for y1, kind1, unit1 in columns[index]:
            if kind1 != "unit":
                continue
            for y0, kind0, unit0 in columns[index - 1]:
                if kind0 == "more" or (kernel is not None and kind0 == "bias" and bias is None):
                    continue
                style = dict(lw=0.6 if head != "-" else 0.4, color="#555555", alpha=0.8)
                if kernel is not None:
                    w = float(bias[unit1] if kind0 == "bias" else kernel[unit0, unit1])
                    style = dict(lw=0.3 + 2.7 * abs(w) / largest, alpha=0.85,
                                 color="#d6604d" if w > 0 else "#4393c3")
                ax.add_patch(FancyArrowPatch((x0 + radius, y0), (x1 - radius, y1),
                                             arrowstyle=head, mutation_scale=7,
                                             linestyle="--" if kind0 == "bias" else "-",
                                             **style))


def _draw_neurons(ax, columns) -> None:
    """Circles for the units, dashed "+1" circles for the biases, a vertical ellipsis for
    the units left out."""
    from matplotlib.patches import Circle

    for index, units in enumerate(columns):
        x = 2.0 * index
        for y, kind, _ in units:
            if kind == "more":
                ax.text(x, y, "\u22ee", ha="center", va="center", fontsize=16)
                continue
            face = "#fff4d6" if kind == "bias" else ("#dbe9f6" if index else "#e8e8e8")
            ax.add_patch(Circle((x, y), _NEURON_RADIUS, facecolor=face, edgecolor="black",
                                lw=1.2, linestyle="--" if kind == "bias" else "-", zorder=3))
            if kind == "bias":
                ax.text(x, y, "+1", ha="center", va="center", fontsize=8, zorder=4)


def _label_layers(ax, columns, sizes, top, bottom) -> None:
    """Layer names above, sizes below, and the arrows in and out of the network."""
    names = ["Input\nlayer"] + ["Hidden\nlayer"] * (len(sizes) - 2) + ["Output\nlayer"]
    for index, n in enumerate(sizes):
        ax.text(2.0 * index, top + 0.8, names[index], ha="center", va="bottom", fontsize=10)
        ax.text(2.0 * index, bottom - 0.6, f"{n}", ha="center", va="top", fontsize=9,
                color="#444444")
    last_x = 2.0 * (len(sizes) - 1)
    arrow = dict(arrowstyle="-|>", color="black", lw=0.8)
    for y, kind, _ in columns[0]:
        if kind == "unit":
            ax.annotate("", (-_NEURON_RADIUS, y), (-0.9, y), arrowprops=arrow)
    for y, kind, _ in columns[-1]:
        if kind == "unit":
            ax.annotate("", (last_x + 0.9, y), (last_x + _NEURON_RADIUS, y), arrowprops=arrow)


# -- convolutional network as feature maps ------------------------------------------------
def _is_convolutional_model(network) -> bool:
    from .layers import CONVOLUTIONAL_LAYERS

    return hasattr(network, "layers") and any(
        isinstance(layer, CONVOLUTIONAL_LAYERS) for layer in network.layers)


def _feature_map_stages(network) -> list:
    """(title, output shape) of the input and of each layer that changes the shape or
    holds weights (activations, dropout and augmentation layers are left out)."""
    from .layers import Dense, Input

    if not network.built and network.input_shape is not None:  # an Input layer says it
        network.build(network.input_shape)
    if not network.built:
        raise ValueError("draw_network: build the model first (model.build(input_shape)), "
                         "or start it with an Input layer, so that every layer's output "
                         "shape is known")
    stages = [("input", tuple(network.input_shape))]
    shape = stages[0][1]
    for layer in network.layers:
        if isinstance(layer, Input):
            continue
        out = tuple(layer.output_shape)
        if out == shape and not layer.params:
            continue
        details = []  # the window, then the activation
        for window in ("kernel_size", "pool_size"):
            if hasattr(layer, window):
                details.append("x".join(map(str, getattr(layer, window))))
        if isinstance(layer, Dense) or hasattr(layer, "kernel_size"):
            details.append(layer.get_config().get("activation") or "linear")
        stages.append((f"{type(layer).__name__}\n{', '.join(details)}".rstrip(), out))
        shape = out
    return stages


def _draw_feature_maps(network, ax, labels: bool):
    """The convolutional model as stacks of feature maps (see draw_network)."""
    require_matplotlib()
    from matplotlib.patches import Rectangle

    stages = _feature_map_stages(network)
    spatial = [shape[:-1] for _, shape in stages if len(shape) > 1]
    largest = max((max(s) for s in spatial), default=1)
    fig, ax = _figure_and_axes(ax, size=(1.6 * len(stages) + 0.6, 3.6))
    x = 0.0
    for index, (title, shape) in enumerate(stages):
        if len(shape) > 1:  # feature maps: channels sheets of height x width
            h = 2.4 * shape[0] / largest
            w = 2.4 * shape[1] / largest if len(shape) > 2 else 0.25  # 1-D: a narrow sheet
            sheets, step, text = min(shape[-1], 8), 0.09, "x".join(map(str, shape))
            face = "#e8e8e8" if index == 0 else "#dbe9f6"
        else:  # a flat layer: one bar whose height grows with the number of units
            w, h = 0.3, 0.8 + 2.2 * min(1.0, np.log10(shape[0] + 1) / 3)
            sheets, step, text = 1, 0.0, str(shape[0])
            face = "#fde2cf" if index == len(stages) - 1 else "#dbe9f6"
        drawn = w + (sheets - 1) * step
        slot = max(drawn, 1.2)  # room for the label under a narrow bar
        left = x + (slot - drawn) / 2
        for k in reversed(range(sheets)):
            ax.add_patch(Rectangle((left + k * step, -h / 2 + k * step), w, h, facecolor=face,
                                   edgecolor="#34495e", lw=0.8))
        if labels:
            ax.text(x + slot / 2, -1.45, f"{title}\n{text}", ha="center", va="top",
                    fontsize=7.5)
        if index < len(stages) - 1:
            ax.annotate("", xy=(x + slot + 0.45, 0), xytext=(x + slot + 0.05, 0),
                        arrowprops=dict(arrowstyle="-|>", color="#34495e", lw=1.0))
        x += slot + 0.5
    ax.set_xlim(-0.3, x - 0.2)
    ax.set_ylim(-2.5, 1.9)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


# -- functional graph ----------------------------------------------------------------------
def _graph_columns(steps: list) -> list:
    """Each node's column: 0 for an input, else one more than the deepest node it reads
    (the steps are in a topological order, so those are known first)."""
    columns: list = []
    for _, inbound, _ in steps:
        columns.append(1 + max((columns[j] for j in inbound), default=-1))
    return columns


def _draw_layer_graph(model, ax, labels: bool):
    """A functional model's nodes as boxes in columns, arrows along the edges."""
    require_matplotlib()
    from matplotlib.patches import FancyBboxPatch

    steps = model._steps
    columns = _graph_columns(steps)
    depth = max(columns) + 1
    rows = [[k for k, c in enumerate(columns) if c == column] for column in range(depth)]
    height = max(len(r) for r in rows)
    uses: dict = {}
    calls = []
    for layer, _, _ in steps:
        calls.append(uses.get(id(layer), 0))
        uses[id(layer)] = calls[-1] + 1
    fig, ax = _figure_and_axes(ax, size=(2.3 * depth + 0.4, 1.1 * height + 0.8))
    width, box = 1.7, 0.75
    centre = {}
    for column, members in enumerate(rows):
        for r, k in enumerate(members):
            centre[k] = (2.3 * column, (len(members) - 1) / 2 * 1.1 - r * 1.1)
    outputs = set(model._output_positions)
    for k, (layer, inbound, _) in enumerate(steps):
        x, y = centre[k]
        face = "#e8e8e8" if not inbound else "#fde2cf" if k in outputs else "#dbe9f6"
        ax.add_patch(FancyBboxPatch((x - width / 2, y - box / 2), width, box,
                                    boxstyle="round,pad=0.02", facecolor=face,
                                    edgecolor="#34495e", lw=0.8, zorder=1))
        if labels:
            name = layer.name + (f"[{calls[k]}]" if uses[id(layer)] > 1 else "")
            shape = "(None, " + ", ".join(map(str, model._nodes[k].output.sample_shape)) + ")"
            ax.text(x, y, f"{name}\n{type(layer).__name__}\n{shape}", ha="center",
                    va="center", fontsize=7, zorder=2)
        for j in inbound:  # an edge over columns arcs around the boxes between
            (x0, y0), (x1, y1) = centre[j], centre[k]
            bend = 0.0 if columns[k] - columns[j] == 1 else -0.35
            ax.annotate("", xy=(x1 - width / 2, y1), xytext=(x0 + width / 2, y0),
                        arrowprops=dict(arrowstyle="-|>", color="#34495e", lw=0.9,
                                        shrinkA=1, shrinkB=1,
                                        connectionstyle=f"arc3,rad={bend}"), zorder=0)
    ax.set_xlim(-width / 2 - 0.2, 2.3 * (depth - 1) + width / 2 + 0.2)
    ax.set_ylim(-(height - 1) / 2 * 1.1 - box - 0.6, (height - 1) / 2 * 1.1 + box + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


# -- unrolled recurrent network -----------------------------------------------------------
def _is_recurrent_model(network) -> bool:
    if not hasattr(network, "layers"):
        return False
    from .layers.recurrent import is_recurrent

    return any(is_recurrent(layer) for layer in network.layers)


def _unrolled_rows(network) -> tuple:
    """Bottom to top, one dict per drawn layer: its label, whether it runs at every step,
    its recurrent arrows (None, "forward" or "both"), the state it passes ("h" or "h, c"),
    and the steps (0 = first, -1 = last, None = all) whose output feeds the layer above.
    Layers without weights that keep the shape (Dropout, Activation, ...) are left out."""
    from .layers import Input
    from .layers.recurrent import Bidirectional, is_recurrent

    if not network.built and network.input_shape is not None:
        network.build(network.input_shape)
    if not network.built:
        raise ValueError("draw_network: the model must be built (call model.build(input_shape) "
                         "first)")
    shape = tuple(network.input_shape)
    steps = shape[0]
    rows = [dict(label="input", per_step=True, recurrent=None, emits=None)]
    per_step = True
    for layer in network.layers:
        if isinstance(layer, Input):
            continue
        out = tuple(layer.output_shape)
        if not layer.params and out == tuple(layer.input_shape):
            continue
        name = type(getattr(layer, "layer", layer)).__name__  # TimeDistributed: its layer
        if is_recurrent(layer):
            cell = layer.forward_layer if isinstance(layer, Bidirectional) else layer
            kind = type(cell).__name__
            label = (f"Bi-{kind} (2\u00d7{cell.units})" if isinstance(layer, Bidirectional)
                     else f"{kind} ({cell.units})")
            emits = None if cell.return_sequences else (
                (0, -1) if isinstance(layer, Bidirectional) else (-1,))
            rows.append(dict(label=label, per_step=True, emits=emits,
                             recurrent="both" if isinstance(layer, Bidirectional) else "forward",
                             state="h, c" if kind == "LSTM" else "h"))
            per_step = cell.return_sequences
            continue
        per_step = per_step and len(out) >= 2 and out[0] == steps
        size = out[-1] if per_step or len(out) == 1 else "\u00d7".join(map(str, out))
        rows.append(dict(label=f"{name} ({size})", per_step=per_step, recurrent=None,
                         emits=None))
    return rows, steps


def _draw_recurrence(ax, row: dict, y: float, xs: list, w: float, h: float, labels: bool,
                     arrow: dict) -> None:
    """The arrows h_{t-1} -> h_t of one recurrent row of the unrolled drawing (both ways
    for a Bidirectional layer) and, with ``labels``, the state's name and the initial
    zeros."""
    from matplotlib.patches import FancyArrowPatch

    last_x = xs[-1]
    both = row["recurrent"] == "both"
    offsets = (0.14, -0.14) if both else (0.0,)
    for x0, x1 in zip(xs, xs[1:]):
        for k, off in enumerate(offsets):
            start, end = (x0 + w / 2 + 0.04, x1 - w / 2 - 0.04)
            if k == 1:
                start, end = end, start
            ax.add_patch(FancyArrowPatch((start, y + off), (end, y + off),
                                         linestyle="-" if k == 0 else "--",
                                         **arrow))
        if labels:
            ax.text((x0 + x1) / 2, y + h / 2 - 0.02, row["state"], ha="center",
                    va="bottom", fontsize=8, color="#c0392b")
    if labels:  # the initial state(s): zeros, from the left (and the right)
        ax.add_patch(FancyArrowPatch((xs[0] - w / 2 - 0.75, y + offsets[0]),
                                     (xs[0] - w / 2 - 0.04, y + offsets[0]),
                                     **arrow))
        ax.text(xs[0] - w / 2 - 0.8, y + offsets[0], "0", ha="right", va="center",
                fontsize=8, color="#c0392b")
        if both:
            ax.add_patch(FancyArrowPatch((last_x + w / 2 + 0.75, y + offsets[1]),
                                         (last_x + w / 2 + 0.04, y + offsets[1]),
                                         linestyle="--", **arrow))
            ax.text(last_x + w / 2 + 0.8, y + offsets[1], "0", ha="left",
                    va="center", fontsize=8, color="#c0392b")


def _draw_unrolled(network, time_steps, ax, labels: bool):
    """The recurrent model unrolled over ``time_steps`` drawn steps (see draw_network)."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if (isinstance(time_steps, bool) or not isinstance(time_steps, (int, np.integer))
            or time_steps < 2):
        raise ValueError(f"draw_network: time_steps must be an integer >= 2; got "
                         f"{time_steps!r}")
    rows, steps = _unrolled_rows(network)
    require_matplotlib()
    shown = list(range(1, steps + 1)) if steps <= time_steps else (
        list(range(1, time_steps)) + [None, steps])  # None: the "..." column
    dx, dy, w, h = 2.3, 1.5, 1.5, 0.62
    xs = [dx * i for i in range(len(shown))]
    last_x = xs[-1]
    left, right = xs[0] - w / 2 - 1.1, last_x + w / 2 + 1.1
    bottom, top = -h / 2 - 0.9, dy * (len(rows) - 1) + h / 2 + 0.8
    fig, ax = _figure_and_axes(ax, size=(0.62 * (right - left), 0.62 * (top - bottom)))
    arrow = dict(arrowstyle="-|>", mutation_scale=9, color="#333333", lw=1.0)
    recurrent_arrow = dict(arrow, color="#c0392b", lw=1.4)

    def box(x, y, text, face):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                    facecolor=face, edgecolor="black", lw=1.0, zorder=3))
        ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=4)

    previous = None  # the x positions whose output feeds the row above
    for level, row in enumerate(rows):
        y = dy * level
        if row["per_step"]:
            columns = [x for x, t in zip(xs, shown) if t is not None]
        else:
            columns = [last_x]
        face = "#e8e8e8" if level == 0 else ("#fde2cf" if row["recurrent"] else "#dbe9f6")
        for x, t in zip(xs, shown):
            if x not in columns:
                if t is None and row["per_step"]:
                    ax.text(x, y, "\u2026", ha="center", va="center", fontsize=16)
                continue
            text = row["label"] if level else f"$x_{{{t}}}$"
            box(x, y, text, face)
        if previous is not None:  # arrows from the row below
            for x in columns:
                sources = [x] if row["per_step"] else previous
                for x0 in sources:
                    if x0 in previous:
                        ax.add_patch(FancyArrowPatch((x0, y - dy + h / 2 + 0.05),
                                                     (x, y - h / 2 - 0.05), **arrow))
        if row["recurrent"]:  # h_{t-1} -> h_t between consecutive copies
            _draw_recurrence(ax, row, y, xs, w, h, labels, recurrent_arrow)
        if row["emits"] is None:
            previous = columns
        else:
            previous = [xs[0] if e == 0 else last_x for e in row["emits"]]
    top -= h / 2 + 0.8
    for x in previous:  # the outputs
        ax.add_patch(FancyArrowPatch((x, top + h / 2 + 0.05), (x, top + h / 2 + 0.6), **arrow))
    if labels:
        ax.text(previous[-1] + 0.12, top + h / 2 + 0.5, "$\\hat{y}$", ha="left",
                va="center", fontsize=10)
        for x, t in zip(xs, shown):
            if t is not None:
                ax.text(x, -h / 2 - 0.45, f"t = {t}", ha="center", va="top", fontsize=9,
                        color="#444444")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top + h / 2 + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


# -- training curves -----------------------------------------------------------------------
def plot_history(history, keys=None, ax=None, title: str | None = None):
    """Loss (and metric) curves per epoch.

    ``history``: a ``History`` from ``fit``, its ``.history`` dict, or a dict
    ``label -> list of values`` (e.g. ``optimizers.compare``'s result).  ``val_`` series
    are drawn dashed in the colour of their training series.  Metrics other than the loss
    go on a second panel when no ``ax`` is given.
    """
    series = getattr(history, "history", history)
    if not isinstance(series, dict) or not series:
        raise ValueError("plot_history: expected a History or a non-empty dict of series")
    keys = list(keys) if keys is not None else [k for k in series if not k.startswith("val_")]
    missing = [k for k in keys if k not in series]
    if missing:
        raise ValueError(f"plot_history: unknown series {missing}; have {sorted(series)}")
    losses = [k for k in keys if "loss" in k or k not in ("accuracy", "acc", "mae", "mse")]
    metrics = [k for k in keys if k not in losses]
    if ax is None:
        fig, axes = new_figure(ncols=2 if metrics else 1, size=(10, 4) if metrics else (6.4, 4))
        axes = list(np.atleast_1d(axes))
    else:
        fig, axes = ax.figure, [ax, ax]
        if metrics:  # one panel for everything
            losses, metrics = losses + metrics, []
    for panel, group in zip(axes, (losses, metrics)):
        for i, key in enumerate(group):
            values = np.asarray(series[key], dtype=float)
            color = CLASS_COLORS[i % len(CLASS_COLORS)]
            epochs = np.arange(1, len(values) + 1)
            marker = "o" if len(values) <= 10 else None  # a short run is a few points
            panel.plot(epochs, values, color=color, label=key, marker=marker, ms=4)
            if f"val_{key}" in series:
                panel.plot(epochs[:len(series[f"val_{key}"])], series[f"val_{key}"],
                           color=color, linestyle="--", label=f"val_{key}", marker=marker,
                           ms=4, mfc="white")
        if group:
            panel.set_xlabel("epoch")
            panel.set_ylabel("loss" if group is losses else "metric")
            if max(len(series[k]) for k in group) <= 10:
                panel.set_xticks(np.arange(1, max(len(series[k]) for k in group) + 1))
            panel.legend(fontsize=8)
            panel.grid(alpha=0.3)
    if title:
        axes[0].set_title(title)
    return fig


# -- decision regions -------------------------------------------------------------------------
def _scores(model, grid: np.ndarray) -> np.ndarray:
    """Class probabilities (n, k), a positive-class probability (n,), or values (n,)."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(grid), dtype=float)
    if hasattr(model, "predict"):
        return np.asarray(model.predict(grid), dtype=float)
    return np.asarray(model(grid), dtype=float)


def plot_decision_boundary(model, X, y=None, ax=None, resolution: int = 200, margin=0.5,
                           proba: bool = True, transform=None, title: str | None = None,
                           levels=None, colorbar_label: str = "P(class 1)"):
    """Regions of the plane by predicted class (as in the AND/OR/XOR and softmax plots).

    ``model``: a fitted Sequential, an estimator with ``predict_proba``/``predict``, or a
    function of an (n, 2) array.  With ``proba``, each region is shaded by the predicted
    probability (one class: a diverging map around 0.5; several: the winning class's
    colour, lighter where it is less sure).  ``transform`` maps the grid's (x1, x2) to
    the model's inputs (e.g. polynomial features).  Points are drawn coloured by ``y``.
    A regression output (one column, not a probability) is drawn as a heat map.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (n, 2); got {X.shape}")
    fig, ax = _figure_and_axes(ax, size=(5.5, 5))
    (x_min, y_min), (x_max, y_max) = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(x_min, x_max, resolution),
                         np.linspace(y_min, y_max, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    scores = _scores(model, transform(grid) if transform else grid)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    elif scores.ndim == 2 and scores.shape[1] == 2:  # two classes: P(class 1) is enough
        scores = scores[:, 1]
    if scores.ndim == 1:
        _draw_one_output(fig, ax, gx, gy, scores.reshape(gx.shape), proba, levels,
                         colorbar_label)
    else:
        _draw_class_regions(ax, gx, gy, scores, proba)
    if y is not None:
        _draw_points(ax, X, y, binary=scores.ndim == 1)
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return fig


def _draw_one_output(fig, ax, gx, gy, scores, proba, levels, colorbar_label) -> None:
    """One output on the grid: a probability (shaded around 0.5 with its contour, or two
    flat regions) or a regression value (a heat map)."""
    extent = (gx.min(), gx.max(), gy.min(), gy.max())
    is_probability = scores.min() >= 0 and scores.max() <= 1
    if is_probability and proba:
        image = ax.imshow(scores, origin="lower", extent=extent, cmap="RdBu_r", vmin=0,
                          vmax=1, alpha=0.75, aspect="auto")
        ax.contour(gx, gy, scores, levels=levels or [0.5], colors="black", linewidths=1)
        fig.colorbar(image, ax=ax, shrink=0.8, label=colorbar_label)
    elif is_probability:
        ax.contourf(gx, gy, (scores >= 0.5), levels=[-0.5, 0.5, 1.5],
                    colors=[CLASS_COLORS[0], CLASS_COLORS[1]], alpha=0.3)
    else:
        image = ax.imshow(scores, origin="lower", extent=extent, cmap="viridis", alpha=0.8,
                          aspect="auto")
        fig.colorbar(image, ax=ax, shrink=0.8, label="prediction")


def _draw_class_regions(ax, gx, gy, scores, proba) -> None:
    """Several classes: each point of the grid in its winning class's colour (lighter
    where the model is less sure, with ``proba``), and the boundaries between them."""
    from matplotlib.colors import ListedColormap, to_rgb

    extent = (gx.min(), gx.max(), gy.min(), gy.max())
    n_classes = scores.shape[1]
    winner = scores.argmax(axis=1)
    colors = np.array([to_rgb(CLASS_COLORS[k % len(CLASS_COLORS)]) for k in range(n_classes)])
    if proba:  # blend the class colour with white by how sure the model is
        sure = (scores.max(axis=1) - 1 / n_classes) / (1 - 1 / n_classes)
        rgb = 1 - (1 - colors[winner]) * (0.15 + 0.6 * sure[:, None])
        ax.imshow(rgb.reshape(*gx.shape, 3), origin="lower", extent=extent, aspect="auto")
    else:
        ax.contourf(gx, gy, winner.reshape(gx.shape), levels=np.arange(n_classes + 1) - 0.5,
                    cmap=ListedColormap(colors), alpha=0.3)
    ax.contour(gx, gy, winner.reshape(gx.shape), levels=np.arange(n_classes) + 0.5,
               colors="black", linewidths=0.8)


def _draw_points(ax, X, y, binary: bool) -> None:
    """The samples, coloured by label (one-hot rows are turned into labels)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    y = y.ravel()
    point_colors = ("#2166ac", "#b2182b") if binary else CLASS_COLORS
    for k, label in enumerate(np.unique(y)):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=40 if len(X) < 50 else 16,
                   color=point_colors[k % len(point_colors)], edgecolor="black",
                   linewidth=0.6, label=str(label), zorder=3)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.8)


# -- activation statistics ------------------------------------------------------------------
def plot_activation_stats(stats, title: str | None = None, bins: int = 30, value_range=None,
                          ylim=None):
    """The initialization study's figures (Karpathy's CS231n course): layer mean and std
    against depth, then one histogram per layer.

    ``stats``: the list returned by :func:`nnlearn.diagnostics.activation_statistics`
    (dicts with ``mean``, ``std`` and ``values``), or a list of activation arrays.
    ``ylim``: a dict ``{"mean": (low, high), "std": (low, high)}`` fixing the y-axes of
    the mean and std panels - give the same limits to figures that are compared, or a
    small spread looks like a spike.
    """
    if not len(stats):
        raise ValueError("plot_activation_stats: no layers to plot")
    if not isinstance(stats[0], dict):
        stats = [{"mean": float(np.mean(a)), "std": float(np.std(a)), "values": np.asarray(a)}
                 for a in stats]
    n = len(stats)
    fig, _ = new_figure(size=(max(8.0, 1.3 * n), 6))
    fig.clear()
    grid = fig.add_gridspec(2, max(n, 2), height_ratios=[1.3, 1])
    half = max(n, 2) // 2
    depth = np.arange(1, n + 1)
    for position, key, color in ((slice(0, half), "mean", "C0"),
                                 (slice(half, max(n, 2)), "std", "C3")):
        ax = fig.add_subplot(grid[0, position])
        ax.plot(depth, [s[key] for s in stats], "o-", color=color)
        ax.set_title(f"layer {key}")
        ax.set_xlabel("layer")
        ax.set_ylabel(f"activation {key}")
        if ylim is not None and key in ylim:
            ax.set_ylim(*ylim[key])
        ax.set_xticks(depth)
        ax.grid(alpha=0.3)
    if value_range is None:
        values = np.concatenate([np.asarray(s["values"]).ravel() for s in stats])
        low, high = (float(values.min()), float(values.max())) if values.size else (-1, 1)
        value_range = (min(low, -1.0), max(high, 1.0)) if low < 0 else (0.0, max(high, 1.0))
    for i, s in enumerate(stats):
        ax = fig.add_subplot(grid[1, i])
        ax.hist(np.asarray(s["values"]).ravel(), bins, range=value_range, color="C0")
        ax.set_title(f"layer {i + 1}", fontsize=9)
        ax.set_yticks([])
        ax.set_xlabel("activation", fontsize=7)
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title)
    return fig


# -- optimizer paths ---------------------------------------------------------------------------
def plot_optimizer_paths(objective, paths: dict, bounds=((-2, 2), (-2, 2)), ax=None,
                         levels: int = 30, title: str | None = None, minimum=None,
                         xlabel: str = "x", ylabel: str = "y"):
    """Contours of a 2-D ``objective(x, y)`` (vectorised over arrays) with each
    optimizer's trajectory; ``paths`` maps a label to an array of shape (steps, 2);
    ``xlabel`` and ``ylabel`` name the two parameters."""
    fig, ax = _figure_and_axes(ax, size=(8, 5.5))
    (x0, x1), (y0, y1) = bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    z = objective(gx, gy)
    low = max(float(z.min()), 1e-3 * float(z.max()))
    ax.contour(gx, gy, z, levels=np.geomspace(low, z.max(), levels) if z.min() >= 0 else levels,
               colors="#9a9a9a", linewidths=0.6)
    for i, (label, path) in enumerate(paths.items()):
        path = np.asarray(path, dtype=float)
        ax.plot(path[:, 0], path[:, 1], "-", color=CLASS_COLORS[i % 10], lw=1.5, label=label)
        ax.plot(path[-1, 0], path[-1, 1], "o", color=CLASS_COLORS[i % 10], ms=5)
    ax.plot(*np.asarray(next(iter(paths.values())))[0], "ks", ms=6, label="start")
    if minimum is not None:
        ax.plot(*minimum, "k*", ms=12, label="minimum")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    if title:
        ax.set_title(title)
    return fig


# -- weights ---------------------------------------------------------------------------------
def hinton(weights, ax=None, max_weight=None, title: str | None = None):
    """Hinton diagram: one square per weight, area proportional to |w|, white for
    positive and black for negative, on grey (rows of ``weights`` are drawn as rows)."""
    W = np.asarray(weights, dtype=float)
    if W.ndim == 1:
        W = W[None, :]
    if W.ndim != 2:
        raise ValueError(f"hinton: weights must be 1-D or 2-D; got shape {W.shape}")
    fig, ax = _figure_and_axes(ax, size=(max(3.0, 0.35 * W.shape[1] + 1),
                                         max(3.0, 0.35 * W.shape[0] + 1)))
    from matplotlib.patches import Rectangle

    max_weight = max_weight or float(np.abs(W).max()) or 1.0
    ax.set_facecolor("#808080")
    for (row, col), w in np.ndenumerate(W):
        side = np.sqrt(min(abs(w) / max_weight, 1.0)) * 0.95
        ax.add_patch(Rectangle((col - side / 2, row - side / 2), side, side,
                               facecolor="white" if w > 0 else "black", edgecolor="none"))
    ax.set_xlim(-0.6, W.shape[1] - 0.4)
    ax.set_ylim(W.shape[0] - 0.4, -0.6)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


# -- regression ----------------------------------------------------------------------------------
def plot_regression_fit(x, y, fits=None, truth=None, ax=None, x_range=None,
                        title: str | None = None, ylim=None):
    """Regression figures: the data, the true function (dashed) and fitted
    curves.  ``fits`` maps a label to a function of a 1-D array or to ``(x, y)`` arrays
    (e.g. the line at epochs 0, 10, 100, 1000)."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    fig, ax = _figure_and_axes(ax, size=(6.4, 4.5))
    low, high = x_range or (float(x.min()), float(x.max()))
    grid = np.linspace(low, high, 200)
    ax.scatter(x, y, color="C1", s=18, label="data", zorder=3)
    if truth is not None:
        ax.plot(grid, truth(grid), "C0--", label="truth")
    for i, (label, fit) in enumerate((fits or {}).items()):
        gx, gy = fit if isinstance(fit, tuple) else (grid, fit(grid))
        ax.plot(np.asarray(gx).ravel(), np.asarray(gy).ravel(),
                color=CLASS_COLORS[(i + 2) % 10], label=label)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


# -- computation graphs ----------------------------------------------------------------------
_GRAPH_COLORS = {"leaf": "#cfe2f3", "constant": "#eeeeee"}


def draw_graph(output, names=None, step: int | None = None, ax=None, precision: int = 3,
               title: str | None = None, direction: str = "LR"):
    """The computation graph behind ``output``: one box per tensor with its label, its
    forward value and its gradient d(output)/d(node), arrows from each op's inputs to its
    result, inputs on the left and the output on the right (``direction="TB"``: inputs at
    the top, the output at the bottom). Blue boxes are the leaves (the tensors you made),
    grey ones constants, yellow ones the results of ops.

    Parameters
    ----------
    output : Tensor or nnlearn.autograd.Graph
        A tensor (its graph is built with :func:`nnlearn.autograd.graph`) or a graph.
    names : dict, optional
        ``{"name": tensor}`` labels for the nodes (else a node shows its op).
    step : int, optional
        Draw the backward pass after ``step`` of its steps: the first ``step`` gradients
        of :attr:`Graph.backward_order` are shown, the node finished last is outlined in
        red, and the gradients still to come read "?".  None: all of them.
    precision : int
        Significant digits of the numbers.
    direction : {"LR", "TB"}
        Left to right (a wide figure) or top to bottom (a tall one, which keeps its
        boxes legible on a page when the graph is many operations deep).
    """
    from .autograd.graph import Graph, graph as build_graph

    if direction not in ("LR", "TB"):
        raise ValueError(f'draw_graph: direction must be "LR" or "TB"; got {direction!r}')
    across = direction == "LR"
    g = output if isinstance(output, Graph) else build_graph(output, names=names)
    depth, row, columns, height = _graph_layout(g, across)
    size = (max(6.0, 2.3 * len(columns)), max(3.0, 1.25 * height)) if across else \
        (max(6.0, 3.2 * height), max(3.0, 0.95 * len(columns)))
    fig, ax = _figure_and_axes(ax, size=size)
    shown = set(g.backward_order if step is None else g.backward_order[:max(step, 0)])
    current = g.backward_order[step - 1] if step and 0 < step <= len(g.backward_order) \
        else None
    places = {i: (depth[i], -row[i]) if across else (row[i], -depth[i]) for i in row}
    boxes = _draw_graph_boxes(ax, g, places, shown, current, precision)
    _draw_graph_arrows(ax, g, boxes, across)
    steps_span = (-0.6, max(columns) + 0.6)
    rows_span = (-(height - 1) / 2 - 0.7, (height - 1) / 2 + 0.7)
    if across:
        ax.set_xlim(*steps_span)
        ax.set_ylim(*rows_span)
    else:
        ax.set_xlim(*rows_span)
        ax.set_ylim(-steps_span[1], -steps_span[0])
    ax.axis("off")
    if title is None:
        title = "computation graph: forward values and gradients d(output)/d(node)"
        if step is not None:
            title = f"backward pass, step {step} of {len(g.backward_order)}"
    ax.set_title(title, fontsize=10)
    return fig


def _graph_layout(g, across: bool) -> tuple:
    """(depth, row, columns, height) of the graph's nodes: a node's depth (its column,
    or its row when drawn top to bottom) is one more than its deepest input's, a constant
    (top to bottom: a leaf too) sits just before its first user; within a column the
    nodes are ordered by their inputs' mean row (:func:`_graph_row_key`), to keep edges
    short, and centred on 0.  ``columns`` maps a depth to its nodes, ``height`` is the
    largest column's size."""
    depth = [0] * len(g.nodes)
    for node in g.nodes:                      # forward order: inputs come first
        if node.inputs:
            depth[node.index] = 1 + max(depth[i] for i in node.inputs)
    beside_user = ("constant",) if across else ("constant", "leaf")
    for node in g.nodes:                      # a constant sits just before its first user
        users = [b for a, b in g.edges if a == node.index]   # (top to bottom: a leaf too)
        if node.op in beside_user and users:
            depth[node.index] = max(min(depth[b] for b in users) - 1, 0)
    columns = {}
    for node in g.nodes:
        columns.setdefault(depth[node.index], []).append(node.index)
    row = {}
    for d in sorted(columns):
        members = columns[d]
        if d:
            members.sort(key=lambda i: (_graph_row_key(g, i, row), i))
        for k, i in enumerate(members):
            row[i] = k - (len(members) - 1) / 2
    height = max(len(m) for m in columns.values())
    return depth, row, columns, height


def _draw_graph_boxes(ax, g, places: dict, shown: set, current, precision: int) -> dict:
    """One box per node at ``places[index]``: its label, value and gradient ("?" when not
    in ``shown`` yet), coloured by kind, the node ``current`` outlined in red; returns
    index -> the box's annotation (the arrows' anchors)."""
    boxes = {}
    for node in g.nodes:
        lines = [node.label if node.name is None or node.op in ("leaf", "constant")
                 else f"{node.label} = {node.op}"]
        lines.append(f"value {_graph_number(node.value, precision)}")
        if node.grad is not None:
            lines.append("grad " + (_graph_number(node.grad, precision)
                                    if node.index in shown else "?"))
        face = _GRAPH_COLORS.get(node.op, "#fff2cc")
        edge = "#d62728" if node.index == current else "#555555"
        boxes[node.index] = ax.annotate(
            "\n".join(lines), ha="center", xy=places[node.index],
            va="center", fontsize=8, family="monospace", zorder=3,
            bbox=dict(boxstyle="round,pad=0.35", facecolor=face, edgecolor=edge,
                      linewidth=2.0 if node.index == current else 0.8))
    return boxes


def _draw_graph_arrows(ax, g, boxes: dict, across: bool) -> None:
    """An arrow from each op's input box to its result's box (right side to left side;
    top to bottom: bottom to top)."""
    into, out_of = ((0, 0.5), (1, 0.5)) if across else ((0.5, 1), (0.5, 0))
    for a, b in g.edges:
        ax.annotate("", xy=into, xycoords=boxes[b], xytext=out_of, textcoords=boxes[a],
                    arrowprops=dict(arrowstyle="-|>", color="#777777", lw=0.8,
                                    shrinkA=1, shrinkB=1), zorder=2)


def _graph_row_key(g, i, row) -> float:
    """Where node ``i`` should sit in its column: the mean row of its inputs, or for a
    constant, of the other inputs of the ops that use it (placed already)."""
    near = [row[j] for j in g.nodes[i].inputs if j in row]
    if not near:
        for a, b in g.edges:
            if a == i:
                near += [row[j] for j in g.nodes[b].inputs if j in row]
    return float(np.mean(near)) if near else 0.0


def _graph_number(array, precision: int) -> str:
    array = np.asarray(array)
    if array.size == 1:
        return f"{array.item():.{precision}g}"
    flat = [f"{v:.{precision}g}" for v in array.ravel()[:6]]
    more = ", ..." if array.size > 6 else ""
    body = ", ".join(flat) + more
    return f"[{body}]" if array.ndim == 1 else f"[{body}] {array.shape}"


# -- the learning-rate range test ----------------------------------------------------------------
def plot_lr_find(result, ax=None, title: str | None = None):
    """The learning-rate range test (Smith 2017) of :func:`nnlearn.lr_find`: each
    mini-batch's loss (light) and the smoothed loss against the learning rate (log
    scale), with the suggested rate (steepest descent) and the rate at the minimum."""
    fig, ax = _figure_and_axes(ax, size=(7, 4.3))
    rates = np.asarray(result.learning_rates)
    raw, smooth = np.asarray(result.losses), np.asarray(result.smoothed_losses)
    ax.plot(rates, raw, color="0.7", lw=0.8, label="mini-batch loss")
    ax.plot(rates, smooth, color="C0", lw=2, label="smoothed loss")
    k = int(np.argmin(np.abs(rates - result.suggestion)))
    ax.plot(rates[k], smooth[k], "o", color="C3", ms=8,
            label=f"suggestion (steepest fall): {result.suggestion:.2g}")
    m = int(np.argmin(np.abs(rates - result.min_loss_rate)))
    ax.plot(rates[m], smooth[m], "v", color="C2", ms=8,
            label=f"minimum: {result.min_loss_rate:.2g} (a tenth: "
                  f"{result.min_loss_rate / 10:.2g})")
    finite = smooth[np.isfinite(smooth)]
    if finite.size:
        low, high = float(finite.min()), float(finite[0])
        ax.set_ylim(low - 0.1 * (high - low + 1e-12), max(high, low) + 0.6 * (high - low + 1e-12))
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale; one mini-batch per rate)")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "learning-rate range test" +
                 (" (stopped: the loss diverged)" if result.diverged else ""))
    return fig
