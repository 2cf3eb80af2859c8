"""`tracegrad.autograd`: the backward engine (`engine.py`), `grad` and `backward`, custom
`Function`s (`function.py`) and numerical gradient checks (`gradcheck.py`)."""
from __future__ import annotations

import numpy as np

from .engine import (BACKWARD_TWICE, AccumulateGrad, Node, accumulate_grad_node,
                     check_gradient, check_hook_result, run_backward, saved_value)
from .function import Function, FunctionCtx
from .gradcheck import GradcheckError, gradcheck, gradgradcheck


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _seeds(outputs, grad_outputs, create_graph: bool):
    from ..tensor import Tensor, tensor
    grads = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs"
                           if not grads else
                           f"Mismatch in length: {len(grads)} grad_outputs for {len(outputs)} "
                           f"outputs")
    seeds = []
    for o, g in zip(outputs, grads):
        if not isinstance(o, Tensor):
            raise TypeError(f"expected a Tensor output, got {type(o).__name__}")
        if not o.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        if g is None:
            check_gradient(o.type, None)
            g = Tensor._make(np.ones(tuple(o.shape), o.dtype.np))
        else:
            g = g if isinstance(g, Tensor) else tensor(g)
            check_gradient(o.type, tuple(g.shape))
            if g.dtype is not o.dtype:
                g = g.to(o.dtype)
        seeds.append(g if create_graph else g.detach()._data)
    return seeds


def _run(outputs, seeds, retain_graph, create_graph, wanted=()):
    """[(tensor, gradient)] summed over `outputs` (each with its seed)."""
    pairs = []
    for k, (o, g) in enumerate(zip(outputs, seeds)):
        keep = retain_graph or k < len(outputs) - 1
        if o.grad_fn is None:
            pairs.append((o, g if create_graph else np.array(g, copy=True)))
        else:
            pairs += run_backward(o.grad_fn, o._out_index, g, keep, create_graph, wanted)
    summed: dict = {}
    for t, g in pairs:
        prev = summed.get(id(t))
        summed[id(t)] = (t, g if prev is None else prev[1] + g)
    return list(summed.values())


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate the gradients of `tensors` (weighted by `grad_tensors`) into the `.grad` of
    the leaves (or only of `inputs`)."""
    outputs = _as_list(tensors)
    retain_graph = create_graph if retain_graph is None else retain_graph
    seeds = _seeds(outputs, grad_tensors, create_graph)
    wanted = [] if inputs is None else [t for t in _as_list(inputs) if not t.is_leaf]
    only = None if inputs is None else {id(t) for t in _as_list(inputs)}
    for t, g in _run(outputs, seeds, retain_graph, create_graph, wanted):
        if only is None or id(t) in only:
            t._accumulate(g)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused=None, materialize_grads: bool = False) -> tuple:
    """The gradients of `outputs` with respect to each of `inputs` (leaves or not), without
    touching any `.grad`. With `create_graph=True` they are recorded and can be
    differentiated again."""
    from ..tensor import Tensor
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    if materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True")
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs must be Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    retain_graph = create_graph if retain_graph is None else retain_graph
    seeds = _seeds(outputs, grad_outputs, create_graph)
    got = {id(t): g for t, g in _run(outputs, seeds, retain_graph, create_graph,
                                      [t for t in inputs if not t.is_leaf])}
    result = []
    for t in inputs:
        g = got.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            if materialize_grads:
                g = Tensor._make(np.zeros(tuple(t.shape), t.dtype.np))
        elif not isinstance(g, Tensor):
            g = Tensor._make(g)
        if g is not None and t._hooks and t.is_leaf:
            g = t._run_hooks(g)
        result.append(g)
    return tuple(result)


__all__ = ["BACKWARD_TWICE", "AccumulateGrad", "Function", "FunctionCtx", "GradcheckError",
           "Node", "accumulate_grad_node", "backward", "check_gradient", "check_hook_result",
           "grad", "gradcheck", "gradgradcheck", "run_backward"]
