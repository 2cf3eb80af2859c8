"""The eager autograd graph (`grad_fn` nodes) and the backward engine.

Every recorded op is a `Node`: an IR equation with its operands' values saved. `backward`
collects the nodes reachable from the output into an IR `Function`, turns it into its adjoint
with the reverse-mode transform and evaluates that, so eager gradients and compiled gradients
come from the same VJP rules.
"""
from __future__ import annotations

import numpy as np

from .ir import Eqn, Function, Literal, Var, evaluate, vjp
from .size import Size

BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.")


class Node:
    """A recorded op application: the object `Tensor.grad_fn` returns.

    Create nodes with `Node.create`, which instantiates one subclass per PyTorch name so that
    `type(y.grad_fn).__name__` is e.g. "AddBackward0", as in PyTorch.
    """

    __slots__ = ("op", "attrs", "edges", "saved", "outputs", "out_types", "freed", "_name",
                 "__weakref__")
    _classes: dict = {}

    @staticmethod
    def create(op, attrs, edges, saved, outputs, out_types, name) -> "Node":
        cls = Node._classes.get(name)
        if cls is None:
            cls = Node._classes[name] = type(name, (Node,), {"__slots__": ()})
        return cls(op, attrs, edges, saved, outputs, out_types, name)

    def __init__(self, op, attrs, edges, saved, outputs, out_types, name):
        self.op = op
        self.attrs = attrs
        self.edges = edges      # per operand: ("node", Node, i) | ("leaf", tensor) | ("const", type) | ("lit", Literal)
        self.saved = saved      # per operand: its ndarray value (None for literals)
        self.outputs = outputs  # the op's output arrays
        self.out_types = out_types
        self.freed = False
        self._name = name

    def name(self) -> str:
        return self._name

    def state(self) -> tuple:
        return (self.op, self.attrs, self.edges, self.saved, self.outputs, self.out_types)

    @property
    def next_functions(self) -> tuple:
        out = []
        for j, e in enumerate(self.edges):
            if not self.op.listed_operand(j, self.edges):
                continue
            if e[0] == "node":
                out.append((e[1], e[2]))
            elif e[0] == "leaf":
                out.append((accumulate_grad_node(e[1]), 0))
            else:
                out.append((None, 0))
        return tuple(out)

    def free(self) -> None:
        self.freed = True
        self.saved = None
        self.outputs = None

    def __repr__(self) -> str:
        return f"<{self._name} object at {id(self):#x}>"


class AccumulateGrad:
    """The node that accumulates into a leaf's `.grad`; reachable through `next_functions`."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def accumulate_grad_node(leaf) -> AccumulateGrad:
    node = getattr(leaf, "_accumulate_node", None)
    if node is None:
        node = leaf._accumulate_node = AccumulateGrad(leaf)
    return node


def topological_nodes(root: Node) -> list[Node]:
    """Nodes reachable from `root`, producers before consumers (iterative: no recursion limit)."""
    order, seen = [], {id(root)}
    stack = [(root, iter(root.edges))]
    while stack:
        node, it = stack[-1]
        for e in it:
            if e[0] == "node" and id(e[1]) not in seen:
                seen.add(id(e[1]))
                stack.append((e[1], iter(e[1].edges)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def graph_function(root: Node, out_index: int):
    """The recorded graph under `root` as an IR Function.

    Returns (function, leaves, values): the leaf tensors that require grad become the first
    parameters (in first-use order), constants the remaining ones; `values` maps id(Var) to the
    saved array available for it.
    """
    nodes = topological_nodes(root)
    var_of: dict[tuple, Var] = {}
    leaves, leaf_params, const_params = [], {}, []
    values: dict[int, np.ndarray] = {}
    eqns = []
    for node in nodes:
        atoms = []
        for j, e in enumerate(node.edges):
            kind = e[0]
            if kind == "lit":
                atoms.append(e[1])
                continue
            if kind == "node":
                v = var_of[(id(e[1]), e[2])]
            elif kind == "leaf":
                v = leaf_params.get(id(e[1]))
                if v is None:
                    v = leaf_params[id(e[1])] = Var(e[1].type, f"leaf{len(leaves)}")
                    leaves.append(e[1])
                    values[id(v)] = e[1]._data
            else:
                v = Var(e[1], "const")
                const_params.append(v)
            if node.saved is not None:
                values.setdefault(id(v), node.saved[j])
            atoms.append(v)
        outs = [Var(t) for t in node.out_types]
        for i, v in enumerate(outs):
            var_of[(id(node), i)] = v
            if node.outputs is not None:
                values[id(v)] = node.outputs[i]
        eqns.append(Eqn(node.op, atoms, outs, node.attrs))
    params = [leaf_params[id(t)] for t in leaves] + const_params
    fn = Function("backward_graph", params, eqns, [var_of[(id(root), out_index)]])
    return fn, nodes, leaves, values


def run_backward(root: Node, out_index: int, gradient: np.ndarray, retain_graph: bool):
    """Compute the gradients of the leaves under `root`; returns [(leaf, grad_array)]."""
    fn, nodes, leaves, values = graph_function(root, out_index)
    adjoint = vjp(fn, range(len(leaves)))
    if any(nodes[i].freed for i in adjoint.saved_by):
        raise RuntimeError(BACKWARD_TWICE)
    try:
        residuals = [values[id(v)] for v in adjoint.residuals]
    except KeyError:
        raise RuntimeError(BACKWARD_TWICE) from None
    grads = evaluate(adjoint.fn, residuals + [gradient])
    if not retain_graph:
        for node in nodes:
            node.free()
    return [(leaves[i], g) for i, g in zip(adjoint.wrt, grads)]


def check_gradient(output_type, gradient: np.ndarray | None, numel: int) -> None:
    if gradient is None:
        if numel != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return
    if tuple(gradient.shape) != tuple(output_type.shape):
        raise RuntimeError(
            f"Mismatch in shape: grad_output[0] has a shape of {Size(gradient.shape)!r} and "
            f"output[0] has a shape of {Size(output_type.shape)!r}.")
