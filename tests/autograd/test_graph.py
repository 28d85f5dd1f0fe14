"""autograd.graph and plot.draw_graph: the computation graph behind a tensor, each node's
value and gradient d(output)/d(node), and the order of the backward pass."""

import numpy as np
import pytest

from nnlearn import autograd
from nnlearn.autograd import Tensor


def scalar(value):
    return Tensor(np.array(value, dtype=np.float64), requires_grad=True)


def micrograd_readme_expression(make, relu):
    """The expression of micrograd's README (Karpathy 2020), built from +, -, *, /, **,
    relu on the values ``make`` creates; returns the named nodes a..g."""
    a = make(-4.0)
    b = make(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + relu(b + a)
    d += 3 * d + relu(b - a)
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return dict(a=a, b=b, c=c, d=d, e=e, f=f, g=g)


def test_the_readme_expression_gives_micrograds_printed_numbers():
    """micrograd's README prints g = 24.7041, dg/da = 138.8338, dg/db = 645.5773."""
    nodes = micrograd_readme_expression(scalar, autograd.relu)
    graph = autograd.graph(nodes["g"], names=nodes)
    assert graph["g"].value == pytest.approx(24.7041, abs=1e-4)
    assert graph["a"].grad == pytest.approx(138.8338, abs=1e-4)
    assert graph["b"].grad == pytest.approx(645.5773, abs=1e-4)
    assert nodes["a"].grad is None            # graph() leaves .grad alone


def test_interop_with_micrograd_every_named_value_and_gradient():
    """The same expression in micrograd 0.1.0: every named node has the same value and
    the same gradient (micrograd keeps the gradient of every node)."""
    engine = pytest.importorskip("micrograd.engine")
    theirs = micrograd_readme_expression(engine.Value, lambda v: v.relu())
    theirs["g"].backward()
    ours = micrograd_readme_expression(scalar, autograd.relu)
    graph = autograd.graph(ours["g"], names=ours)
    for name, value in theirs.items():
        node = graph[name]
        assert float(node.value) == pytest.approx(value.data, rel=1e-12), name
        assert float(node.grad) == pytest.approx(value.grad, rel=1e-12), name


def test_graph_nodes_edges_and_gradients_of_every_node():
    x = scalar(3.0)
    w = scalar(-2.0)
    z = x * w
    out = autograd.tanh(z) + x
    graph = autograd.graph(out, names={"x": x, "w": w, "z": z, "out": out})
    assert [n.label for n in graph.nodes] == ["x", "w", "z", "tanh", "out"]
    assert graph.output.label == "out" and graph["z"].op == "mul"
    assert sorted(graph.edges) == [(0, 2), (0, 4), (1, 2), (2, 3), (3, 4)]
    dz = 1 - np.tanh(-6.0) ** 2
    assert graph["z"].grad == pytest.approx(dz, rel=1e-12)
    assert graph["x"].grad == pytest.approx(1 + dz * -2.0, rel=1e-12)   # two paths summed
    assert graph["w"].grad == pytest.approx(dz * 3.0, rel=1e-12)
    out.backward()
    assert x.grad == pytest.approx(graph["x"].grad) and w.grad == pytest.approx(graph["w"].grad)


def test_backward_order_visits_a_node_after_everything_that_uses_it():
    nodes = micrograd_readme_expression(scalar, autograd.relu)
    graph = autograd.graph(nodes["g"], names=nodes)
    order = graph.backward_order
    assert order[0] == graph.output.index
    position = {i: k for k, i in enumerate(order)}
    for source, result in graph.edges:
        if source in position:
            assert position[result] < position[source]
    steps = graph.steps()
    assert "forward pass" in steps and "backward pass" in steps
    assert steps.count("d out/d") == len(order)


def test_constants_have_no_gradient_and_arrays_keep_their_shapes():
    x = Tensor(np.array([[1.0, 2.0]]), requires_grad=True, dtype=np.float64)
    W = Tensor(np.array([[0.5], [-1.0]]), requires_grad=True, dtype=np.float64)
    loss = ((x @ W) * 3.0).sum()
    graph = autograd.graph(loss, names={"x": x, "W": W})
    constant = [n for n in graph.nodes if n.op == "constant"]
    assert len(constant) == 1 and constant[0].grad is None
    np.testing.assert_allclose(graph["W"].grad, [[3.0], [6.0]])
    np.testing.assert_allclose(graph["x"].grad, [[1.5, -3.0]])


def test_draw_graph_draws_one_box_per_node_and_one_arrow_per_edge():
    pytest.importorskip("matplotlib")
    from nnlearn import plot

    nodes = micrograd_readme_expression(scalar, autograd.relu)
    graph = autograd.graph(nodes["g"], names=nodes)
    fig = plot.draw_graph(graph)
    texts = [t for t in fig.axes[0].texts if t.get_text()]
    arrows = [t for t in fig.axes[0].texts if not t.get_text()]
    assert len(texts) == len(graph.nodes) and len(arrows) == len(graph.edges)
    a_box = next(t.get_text() for t in texts if t.get_text().startswith("a\n"))
    assert "value -4" in a_box and "grad 139" in a_box
    partial = plot.draw_graph(graph, step=2)
    questions = sum(t.get_text().count("grad ?") for t in partial.axes[0].texts)
    assert questions == len(graph.backward_order) - 2


def test_draw_graph_top_to_bottom_puts_every_result_below_its_inputs():
    """direction="TB" (the tall layout a page can show legibly): each op's box lies
    below each of its inputs' boxes, as with "LR" it lies to their right; a leaf sits
    just above its first user rather than all leaves in the top row."""
    pytest.importorskip("matplotlib")
    from nnlearn import plot

    nodes = micrograd_readme_expression(scalar, autograd.relu)
    graph = autograd.graph(nodes["g"], names=nodes)
    for direction, after in (("LR", lambda a, b: b[0] > a[0]),
                             ("TB", lambda a, b: b[1] < a[1])):
        fig = plot.draw_graph(graph, direction=direction)
        boxes = [t.xy for t in fig.axes[0].texts if t.get_text()]
        assert len(boxes) == len(graph.nodes)
        assert all(after(boxes[a], boxes[b]) for a, b in graph.edges), direction
    tall = plot.draw_graph(graph, direction="TB")
    boxes = [t.xy for t in tall.axes[0].texts if t.get_text()]
    for node in graph.nodes:
        users = [b for a, b in graph.edges if a == node.index]
        if node.op == "leaf" and users:
            assert min(boxes[node.index][1] - boxes[b][1] for b in users) == 1
    with pytest.raises(ValueError, match="direction"):
        plot.draw_graph(graph, direction="RL")
