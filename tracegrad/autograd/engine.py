"""The eager autograd graph (`grad_fn` nodes) and the backward engine.

Every recorded op is a `Node`: an IR equation with its operands' values saved. `backward`
collects the nodes reachable from the output into an IR `Function`, turns it into its adjoint
with the reverse-mode transform and evaluates that, so eager gradients and compiled gradients
come from the same VJP rules.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .. import versions
from ..ir import Adjoint, Eqn, Function, Op, TensorType, Var, vjp
from ..ir.interpreter import Evaluator
from ..size import Size

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
                 "saved_versions", "out_versions", "retained", "hooks", "__weakref__")
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
        # per operand: ("node", Node, i) | ("leaf", tensor) | ("const", type) | ("lit", Literal)
        self.edges = edges
        self.saved = saved      # per operand: its ndarray value (None for literals)
        self.outputs = outputs  # the op's output arrays
        self.out_types = out_types
        self.freed = False
        self._name = name
        self.saved_versions = versions.snapshot(saved)
        self.out_versions = versions.snapshot(outputs)
        self.retained = None  # output index -> tensor that called retain_grad()
        self.hooks = None     # output index -> [hook functions of the tensor it produced]

    def name(self) -> str:
        return self._name

    def renamed(self, name: str) -> "Node":
        """This node under another PyTorch name (see `Tensor.sum`: names follow overloads)."""
        node = Node.create(self.op, self.attrs, self.edges, self.saved, self.outputs,
                           self.out_types, name)
        node.saved_versions, node.out_versions = self.saved_versions, self.out_versions
        return node

    @property
    def next_functions(self) -> tuple:
        out = []
        for j, e in enumerate(self.edges):
            if not self.op.listed(j, e[0] == "lit"):
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


def walk_graph(root: Node, out_index: int, wanted=()):
    """The nodes under `root`, the tensors that get gradients (leaves that require grad in
    first-use order, then non-leaves that retain grad or are `wanted`), and the graph's
    structural signature: equal signatures have the same adjoint."""
    if not wanted and not root.retained and not root.hooks and \
            all(e[0] != "node" for e in root.edges):
        return _walk_single(root, out_index)
    nodes = topological_nodes(root)
    index = {id(n): i for i, n in enumerate(nodes)}
    leaves, leaf_index, entries, retained, kept = [], {}, [], [], []
    for t in wanted:
        if id(t.grad_fn) in index:
            retained.append((index[id(t.grad_fn)], t._out_index))
            kept.append(t)
    for i, n in enumerate(nodes):
        if n.retained:
            for o, t in sorted(n.retained.items()):
                if (i, o) not in retained:
                    retained.append((i, o))
                    kept.append(t)
        edges = _signature_edges(n, index, leaves, leaf_index)
        hooks = tuple((o, tuple(fns)) for o, fns in sorted(n.hooks.items()) if fns) \
            if n.hooks else ()
        entries.append((n.op, tuple(n.attrs.items()), edges, hooks))
    return nodes, leaves, kept, (tuple(entries), out_index, tuple(retained))


def _walk_single(root: Node, out_index: int):
    """`walk_graph` for a root whose operands are all leaves or constants, with no hooks or
    retained gradients (a compiled function's output, a one-op loss): the same result
    without the general walk, since this runs on every backward."""
    leaves = []
    entry = (root.op, tuple(root.attrs.items()), _signature_edges(root, {}, leaves, {}), ())
    return [root], leaves, [], ((entry,), out_index, ())


def _signature_edges(node: Node, index: dict, leaves: list, leaf_index: dict) -> tuple:
    """A node's operands in a graph signature: nodes by position (`index`), leaves by first
    use (appended to `leaves`), types as (shape, dtype), which hash in C (a TensorType's
    dataclass hash is Python code, and the signature is hashed on every backward)."""
    edges = []
    for e in node.edges:
        kind = e[0]
        if kind == "node":
            edges.append(("node", index[id(e[1])], e[2]))
        elif kind == "leaf":
            k = leaf_index.get(id(e[1]))
            if k is None:
                k = leaf_index[id(e[1])] = len(leaves)
                leaves.append(e[1])
            t = e[1].type
            edges.append(("leaf", k, t.shape, t.dtype))
        elif kind == "const":
            edges.append(("const", e[1].shape, e[1].dtype))
        else:
            edges.append(e)
    return tuple(edges)


@dataclass
class BackwardPlan:
    """The adjoint of one graph structure and where each of its residuals is saved."""

    adjoint: Adjoint
    places: list   # per residual: ("out"|"saved", node index, slot) of every node reading it
    saved_by: set  # indices of the nodes whose rules read saved values
    run: Evaluator  # evaluates the adjoint


def graph_function(signature, out_types) -> tuple[Function, list, list]:
    """Build the IR Function of a graph signature (see `walk_graph`), the Vars of the
    retained values, and per equation the node it stands for (None for a hook).
    `out_types[i]` are node i's result types."""
    entries, out_index, retained = signature
    var_of, const_params, eqns, node_of = {}, [], [], []
    leaf_vars = {}
    for i, (op, attrs, edges, hooks) in enumerate(entries):
        atoms = []
        for e in edges:
            if e[0] == "lit":
                atoms.append(e[1])
            elif e[0] == "node":
                atoms.append(var_of[(e[1], e[2])])
            elif e[0] == "leaf":
                if e[1] not in leaf_vars:
                    leaf_vars[e[1]] = Var(TensorType(e[2], e[3]), f"leaf{e[1]}")
                atoms.append(leaf_vars[e[1]])
            else:
                const_params.append(Var(TensorType(e[1], e[2]), "const"))
                atoms.append(const_params[-1])
        outs = [Var(t) for t in out_types[i]]
        for o, v in enumerate(outs):
            var_of[(i, o)] = v
        eqns.append(Eqn(op, atoms, outs, dict(attrs)))
        node_of.append(i)
        for o, fns in hooks:  # hooks see (and may replace) the cotangent of this output
            hooked = Var(outs[o].type)
            eqns.append(Eqn(TENSOR_HOOK, [outs[o]], [hooked], {"fns": fns}))
            node_of.append(None)
            var_of[(i, o)] = hooked
    params = [leaf_vars[k] for k in range(len(leaf_vars))] + const_params
    root = var_of[(len(entries) - 1, out_index)]
    fn = Function("backward_graph", params, eqns, [root])
    return fn, [var_of[r] for r in retained], node_of


def _places(fn: Function, var: Var, readers, node_of) -> list:
    """Where the nodes whose rules read `var` saved it: each must still hold it unchanged."""
    places = []
    for e in sorted(readers):
        eqn, i = fn.eqns[e], node_of[e]
        places += [("saved", i, j) for j, a in enumerate(eqn.inputs) if a is var]
        places += [("out", i, o) for o, v in enumerate(eqn.outputs) if v is var]
    return places


_plans: OrderedDict = OrderedDict()
PLAN_CACHE_SIZE = 256
PLAN_CACHE_MAX_NODES = 5000  # very long graphs are dominated by evaluation, not planning


def backward_plan(signature, nodes, n_leaves: int) -> BackwardPlan:
    plan = _plans.get(signature)
    if plan is not None:
        _plans.move_to_end(signature)
        return plan
    fn, retain, node_of = graph_function(signature, [n.out_types for n in nodes])
    adjoint = vjp(fn, range(n_leaves), retain=retain)
    plan = BackwardPlan(adjoint, [_places(fn, v, r, node_of)
                                  for v, r in zip(adjoint.residuals, adjoint.readers)],
                        {node_of[e] for e in adjoint.saved_by if node_of[e] is not None},
                        Evaluator(adjoint.fn))
    if len(nodes) <= PLAN_CACHE_MAX_NODES:
        _plans[signature] = plan
        if len(_plans) > PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
    return plan


_TENSOR_TYPES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
                 "int64": "torch.LongTensor", "bool": "torch.BoolTensor"}


def saved_value(places, nodes) -> np.ndarray:
    """A residual's saved array, checked at every node that reads it: freed values raise the
    backward-twice error, values overwritten in place since they were saved the version error."""
    value = None
    for kind, i, k in places:
        node = nodes[i]
        arrays = node.outputs if kind == "out" else node.saved
        if arrays is None:
            raise RuntimeError(BACKWARD_TWICE)
        saved = arrays[k]
        expected = node.out_versions if kind == "out" else node.saved_versions
        expected = expected[k] if expected is not None else 0
        current = versions.version(saved)
        if current != expected:
            edge = ("node", node, k) if kind == "out" else node.edges[k]
            source = f", which is output {edge[2]} of {edge[1].name()}," if edge[0] == "node" else ""
            shape = ", ".join(map(str, saved.shape))
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{_TENSOR_TYPES[saved.dtype.name]} [{shape}]]{source} is at "
                f"version {current}; expected version {expected} instead. Hint: the value was "
                f"overwritten in place after the op that needs it for its gradient; use the "
                f"out-of-place form or clone() it first.")
        value = saved if value is None else value
    if value is None:
        raise RuntimeError(BACKWARD_TWICE)
    return value


def run_backward(root: Node, out_index: int, gradient, retain_graph: bool,
                 create_graph: bool = False, wanted=()):
    """Compute the gradients of the leaves under `root` (and of non-leaves that retain grad or
    are `wanted`); returns [(tensor, gradient)]. Gradients are arrays owned by no one else, or
    with `create_graph` Tensors recorded in the graph (`gradient` is then a Tensor)."""
    nodes, leaves, kept, signature = walk_graph(root, out_index, wanted)
    plan = backward_plan(signature, nodes, len(leaves))
    if any(nodes[i].freed for i in plan.saved_by):
        raise RuntimeError(BACKWARD_TWICE)
    residuals = [saved_value(places, nodes) for places in plan.places]
    if create_graph:
        residuals = [_saved_tensor(places, nodes, value)
                     for places, value in zip(plan.places, residuals)]
        grads = evaluate_recorded(plan.adjoint.fn, residuals + [gradient])
    else:
        grads = plan.run(residuals + [gradient])
    if not retain_graph:
        for node in nodes:
            node.free()
    if not create_graph:
        grads = _private(grads, residuals + [gradient])
    targets = [leaves[i] for i in plan.adjoint.wrt] + [kept[k] for k in plan.adjoint.retained]
    return list(zip(targets, grads))


def _saved_tensor(places, nodes, value):
    """A saved value as a Tensor connected to the graph it came from, so that gradients
    computed from it (create_graph=True) can be differentiated again."""
    from ..tensor import Tensor
    kind, i, k = places[0]
    node = nodes[i]
    grad = value.dtype.kind == "f"
    if kind == "out":
        return Tensor._make(value, requires_grad=grad, grad_fn=node if grad else None,
                            out_index=k)
    edge = node.edges[k]
    if edge[0] == "leaf":
        return edge[1]
    if edge[0] == "node" and grad:
        return Tensor._make(value, requires_grad=True, grad_fn=edge[1], out_index=edge[2])
    return Tensor._make(value)


def evaluate_recorded(fn: Function, args) -> list:
    """Evaluate `fn` on Tensors op by op, as eager code would: the results are recorded in
    the autograd graph (what `create_graph=True` needs)."""
    from ..ir import Literal, bind
    from ..ir.interpreter import literal_value, run_op
    from ..tensor import Tensor
    env = {id(p): a for p, a in zip(fn.params, args)}
    for e in fn.eqns:
        if e.op.kind == "source":
            outs = [Tensor._make(a) for a in run_op(e.op, [], e.attrs,
                                                    [v.type for v in e.outputs])]
        else:
            ins = [literal_value(a).item() if isinstance(a, Literal) else env[id(a)]
                   for a in e.inputs]
            outs = bind(e.op, *ins, **e.attrs)
            outs = list(outs) if isinstance(outs, tuple) else [outs]
        env.update((id(v), o) for v, o in zip(e.outputs, outs))
    return [env[id(r)] if isinstance(r, Var) else Tensor._make(np.asarray(literal_value(r)))
            for r in fn.results]


def _run_hooks(ct, fns):
    """Call a non-leaf tensor's hooks on its gradient; a hook may return a replacement."""
    from ..tensor import Tensor
    grad = Tensor._make(np.array(ct))
    for fn in fns:
        out = fn(grad)
        if out is not None:
            check_hook_result(grad, out)
            grad = out
    return grad._data


def check_hook_result(grad, out) -> None:
    from ..tensor import Tensor
    if not isinstance(out, Tensor):
        raise TypeError(f"hook returned a {type(out).__name__}; expected a Tensor or None")
    if tuple(out.shape) != tuple(grad.shape) or out.dtype is not grad.dtype:
        raise RuntimeError(f"hook returned a gradient of type {out.dtype}{list(out.shape)} for a "
                           f"tensor of type {grad.dtype}{list(grad.shape)}")


_HOOK_GRAD = Op("tensor_hook_grad", kind="opaque", infer=lambda t, fns: t, impl=_run_hooks)
# Identity in the forward graph; its VJP runs the hooks of the tensor it stands after.
TENSOR_HOOK = Op("tensor_hook", kind="opaque", infer=lambda t, fns: t,
                 impl=lambda x, fns: x, vjp=lambda ct, out, x, fns: _HOOK_GRAD(ct, fns=fns))


def _private(arrays, inputs) -> list:
    """Copy the arrays that alias an input, a view, or another result, so every leaf's `.grad`
    owns its memory; fresh results (the common case) are passed through without a copy."""
    seen = {id(a) for a in inputs}
    out = []
    for a in arrays:
        if id(a) in seen or not a.flags.owndata or not a.flags.writeable:
            a = a.copy()
        seen.add(id(a))
        out.append(a)
    return out


def check_gradient(output_type, gradient_shape: tuple | None) -> None:
    """PyTorch's errors for a missing or mis-shaped `gradient` argument of backward()."""
    if gradient_shape is None:
        if output_type.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return
    if tuple(gradient_shape) != tuple(output_type.shape):
        raise RuntimeError(
            f"Mismatch in shape: grad_output[0] has a shape of {Size(gradient_shape)!r} and "
            f"output[0] has a shape of {Size(output_type.shape)!r}.")
