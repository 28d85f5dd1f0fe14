"""The computation graph behind a tensor, with every node's value and gradient.

``graph(output)`` walks back from ``output`` through the ops that produced it and returns
a :class:`Graph`: one :class:`Node` per tensor (the leaves you made, the constants the
ops wrapped, and each op's result), the edges from each input to the op's result, every
node's forward value, and every node's gradient d(output)/d(node), computed by the same
reverse sweep as ``output.backward()`` (Rumelhart, Hinton & Williams 1986).  Unlike
``backward`` it also keeps the gradients of the intermediate nodes, and it changes no
tensor's ``.grad``.

The gradients are listed in the order the reverse sweep makes them final
(:attr:`Graph.backward_order`): the output first, then each node after every node that
consumes it.  :meth:`Graph.steps` prints that step-through, and
:func:`nnlearn.plot.draw_graph` draws the graph (after micrograd's ``draw_dot``, Karpathy
2020).

    >>> import numpy as np
    >>> from nnlearn import autograd
    >>> a = autograd.Tensor(np.array(3.0), requires_grad=True)
    >>> b = autograd.Tensor(np.array(-2.0), requires_grad=True)
    >>> g = autograd.graph(a * b + a, names={"a": a, "b": b})
    >>> [(n.label, float(n.value), float(n.grad)) for n in g.nodes if n.label in "ab"]
    [('a', 3.0, -1.0), ('b', -2.0, 3.0)]
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .tensor import Tensor, backpropagate, seed_gradient

__all__ = ["graph", "Graph", "Node"]


@dataclasses.dataclass
class Node:
    """One tensor of the graph.

    Attributes
    ----------
    index : int
        The node's position in :attr:`Graph.nodes` (forward order: inputs before the
        ops that use them).
    op : str
        The op that made the tensor (``"mul"``, ``"sigmoid"``, ...), ``"leaf"`` for a
        tensor you created, ``"constant"`` for a number an op wrapped.
    label : str
        The name given in ``names``, else the op.
    value : ndarray
        The forward value.
    grad : ndarray or None
        d(output)/d(this node); None where no gradient flows (constants, tensors that do
        not require one).
    inputs : tuple of int
        The indices of the nodes this op read.
    """

    index: int
    op: str
    label: str
    value: np.ndarray
    grad: np.ndarray | None
    inputs: tuple
    tensor: Tensor = dataclasses.field(repr=False, compare=False)

    @property
    def name(self) -> str | None:
        """The name given in ``names`` (None for an unnamed node)."""
        return None if self.label == self.op else self.label


@dataclasses.dataclass
class Graph:
    """The graph of :func:`graph`: nodes, edges, values and gradients.

    Attributes
    ----------
    nodes : list of Node
        In forward order (each node after its inputs); the last is the output.
    edges : list of (int, int)
        ``(input, result)`` index pairs, one per operand of each op.
    backward_order : list of int
        The nodes that receive a gradient, in the order the reverse sweep finishes them:
        the output first, each node only after every node that uses it.
    """

    nodes: list
    edges: list
    backward_order: list

    @property
    def output(self) -> Node:
        """The node the graph was built from."""
        return self.nodes[-1]

    def __getitem__(self, key) -> Node:
        """A node by index, by name, or by the tensor itself."""
        if isinstance(key, Tensor):
            for node in self.nodes:
                if node.tensor is key:
                    return node
            raise KeyError("that tensor is not in the graph")
        if isinstance(key, str):
            for node in self.nodes:
                if node.name == key:
                    return node
            raise KeyError(f"no node named {key!r}; named: "
                           f"{[n.name for n in self.nodes if n.name]}")
        return self.nodes[key]

    def __len__(self) -> int:
        return len(self.nodes)

    def steps(self, precision: int = 4) -> str:
        """The backward pass step by step: first the forward values (in forward order),
        then each gradient in the order the reverse sweep finishes it."""
        width = max(len(n.label) for n in self.nodes)
        lines = ["forward pass (inputs first):"]
        for n in self.nodes:
            source = "" if not n.inputs else \
                f"  = {n.op}({', '.join(self.nodes[i].label for i in n.inputs)})"
            lines.append(f"  {n.label:>{width}} {_short(n.value, precision)}{source}")
        lines.append("backward pass (output first):")
        for step, i in enumerate(self.backward_order, 1):
            n = self.nodes[i]
            users = [self.nodes[j].label for a, j in self.edges if a == i]
            via = f"  from {', '.join(dict.fromkeys(users))}" if users else "  (the seed, 1)"
            lines.append(f"  {step:2d}. d out/d {n.label:<{width}} = "
                         f"{_short(n.grad, precision)}{via}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Graph({len(self.nodes)} nodes, {len(self.edges)} edges, output "
                f"{self.output.label} = {_short(self.output.value, 4)})")


def _short(array, precision: int) -> str:
    if array is None:
        return "-"
    array = np.asarray(array)
    if array.size == 1:
        return f"{array.item():.{precision}g}"
    text = np.array2string(array, precision=precision, separator=", ", threshold=8,
                           suppress_small=False, max_line_width=10**6)
    return " ".join(text.split())


def graph(output: Tensor, names=None, gradient=None) -> Graph:
    """The computation graph that produced ``output``, with values and gradients.

    Parameters
    ----------
    output : Tensor
        The result of some ops; a scalar unless ``gradient`` is given.
    names : dict, optional
        ``{"name": tensor}``: labels for the nodes (a label that is not given is the
        op's name).  ``names=locals()`` labels every tensor bound to a variable.
    gradient : array-like, optional
        d(loss)/d(output) for a non-scalar ``output`` (as in ``output.backward``).

    Returns
    -------
    Graph
        Its nodes (forward values, gradients d(output)/d(node)), edges and the order of
        the backward pass.  The tensors' ``.grad`` are left unchanged.

    Examples
    --------
    micrograd's first example, with the same values and gradients:

    >>> import numpy as np
    >>> from nnlearn import autograd
    >>> a = autograd.Tensor(np.array(-4.0), requires_grad=True)
    >>> b = autograd.Tensor(np.array(2.0), requires_grad=True)
    >>> c = a + b
    >>> g = autograd.graph(c * c, names={"a": a, "b": b, "c": c})
    >>> print(g.steps())                                 # doctest: +NORMALIZE_WHITESPACE
    forward pass (inputs first):
          a -4
          b 2
          c -2  = add(a, b)
        mul 4  = mul(c, c)
    backward pass (output first):
       1. d out/d mul = 1  (the seed, 1)
       2. d out/d c   = -4  from mul
       3. d out/d b   = -4  from c
       4. d out/d a   = -4  from c
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"graph: output must be a Tensor; got {type(output).__name__}")
    labels = {}
    for name, value in (names or {}).items():
        if isinstance(value, Tensor) and id(value) not in labels:
            labels[id(value)] = str(name)

    # Every tensor reachable from the output, each once, sorted by creation (forward order).
    found, stack = {id(output): output}, [output]
    while stack:
        for parent in _inputs(stack.pop()):
            if id(parent) not in found:
                found[id(parent)] = parent
                stack.append(parent)
    tensors = sorted(found.values(), key=lambda t: t._seq)
    index = {id(t): i for i, t in enumerate(tensors)}

    grads = {}
    if output.requires_grad:
        seed = seed_gradient(output, gradient, "graph()")
        wanted = {id(t) for t in tensors if t.requires_grad}
        _, grads = backpropagate(output, seed, wanted=wanted)
        if id(output) in wanted:
            grads[id(output)] = seed

    nodes, edges = [], []
    for i, t in enumerate(tensors):
        inputs = tuple(index[id(p)] for p in _inputs(t))
        op = t._op or ("leaf" if not inputs else "op")
        op = "leaf" if op == "constant" and t.requires_grad else op
        g = grads.get(id(t))
        if g is not None:
            g = np.array(g, dtype=t.data.dtype)
        nodes.append(Node(i, op, labels.get(id(t), op), np.array(t.data), g, inputs, t))
        edges.extend((j, i) for j in inputs)
    order = [i for i in range(len(nodes) - 1, -1, -1) if nodes[i].grad is not None]
    return Graph(nodes, edges, order)


def _inputs(t: Tensor) -> tuple:
    """The tensors an op read: its recorded parents.  An op whose inputs need no gradient
    records none (it is a constant of the graph)."""
    return tuple(t._parents)
