"""Where a compiled function reads tensors it is not given as arguments.

A traced function may close over tensors: globals, closure variables, and attributes or items
below them (`model.w`, `params[0]`). Each such tensor is an input of the compiled code, read
through its `Source` on every call, so rebinding `model.w = new_tensor` is seen (a tensor of
another shape, dtype or requires_grad retraces). Every global and closure variable the code
names is guarded too, since the trace baked in what Python did with it: a tensor by its
signature, None and Python scalars by value, a list or dict by identity and its items (one
level), anything else by identity. (Non-tensor attributes of objects, e.g. `model.training`,
are not guarded.)
"""
from __future__ import annotations

import types
from dataclasses import dataclass

from .tensor import Tensor

_MAX_DEPTH = 6        # attribute / item steps searched below a global or closure variable
                      # (model.layers[0].weight is 6: _modules, 'layers', _modules, '0',
                      # _parameters, 'weight')
_MAX_ITEMS = 64       # containers larger than this are not searched
_OPAQUE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
           types.MethodType, str, bytes)


@dataclass(frozen=True)
class Source:
    """A path to a value: a globals dict and a name, or a closure cell; then steps
    `("attr", name)` or `("item", key)`."""
    root: object
    name: str | None
    steps: tuple = ()

    def read(self):
        """The value now at this path; LookupError when the path is broken."""
        if self.name is None:
            try:
                value = self.root.cell_contents
            except ValueError:
                raise LookupError("empty closure cell") from None
        else:
            value = self.root[self.name] if self.name in self.root else _missing(self.name)
        for kind, key in self.steps:
            try:
                value = getattr(value, key) if kind == "attr" else value[key]
            except (AttributeError, KeyError, IndexError, TypeError):
                raise LookupError(f"{self.describe()} no longer exists") from None
        return value

    def describe(self) -> str:
        text = f"global {self.name!r}" if self.name is not None else "a closure variable"
        for kind, key in self.steps:
            text += f".{key}" if kind == "attr" else f"[{key!r}]"
        return text


def tensor_sig(t: Tensor) -> tuple:
    return (tuple(t.shape), t.dtype.name, t.requires_grad)


_SCALARS = (bool, int, float, complex, str, bytes, type(None))


def fingerprint(value, shallow: bool = False) -> tuple:
    """What a guard on `value` compares: a tensor's signature, a scalar's value, a list's or
    dict's identity and items (one level: their tensors' signatures and scalars' values, so
    `params.append(t)` or `cfg["scale"] = 5` is seen), or identity."""
    if isinstance(value, Tensor):
        return ("tensor", tensor_sig(value))
    if isinstance(value, _SCALARS) or (
            isinstance(value, tuple) and all(isinstance(v, _SCALARS) for v in value)):
        return ("value", type(value).__name__, repr(value))
    if not shallow and isinstance(value, (list, dict)) and len(value) <= _MAX_ITEMS:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        return ("container", value, tuple((k, fingerprint(v, True)) for k, v in items))
    return ("object", value)


def same(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "object":
        return a[1] is b[1]
    if a[0] == "container":
        return a[1] is b[1] and len(a[2]) == len(b[2]) and all(
            ka == kb and same(fa, fb) for (ka, fa), (kb, fb) in zip(a[2], b[2]))
    return a == b


def show(fp: tuple) -> str:
    if fp[0] == "tensor":
        shape, dtype, requires_grad = fp[1]
        return f"a tensor {dtype}{list(shape)}" + (" requiring grad" if requires_grad else "")
    if fp[0] == "value":
        return fp[2]
    if fp[0] == "container":
        shown = ", ".join(f"{k!r}: {show(f)}" for k, f in fp[2][:4])
        more = ", ..." if len(fp[2]) > 4 else ""
        return f"a {type(fp[1]).__name__} of {len(fp[2])} item(s) {{{shown}{more}}}"
    return f"an object {type(fp[1]).__name__} at {id(fp[1]):#x}"


def _missing(name):
    raise LookupError(f"global {name!r} no longer exists")


def roots(fn, compiled_type) -> list[Source]:
    """The globals and closure cells `fn` can read: in its own code, nested code (lambdas,
    comprehensions) and the functions it calls by global or closure name (unwrapping
    `compiled_type` instances)."""
    found, seen_code, seen_root = [], set(), set()

    def add(src):
        key = (id(src.root), src.name)
        if key not in seen_root:
            seen_root.add(key)
            found.append(src)

    def visit(f):
        f = f.fn if isinstance(f, compiled_type) else f
        code = getattr(f, "__code__", None)
        if code is None or id(code) in seen_code:
            return
        seen_code.add(id(code))
        for cell in getattr(f, "__closure__", None) or ():
            add(Source(cell, None))
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, (types.FunctionType, compiled_type)):
                visit(value)
        visit_code(code, f.__globals__)

    def visit_code(code, namespace):
        for name in code.co_names:
            if name not in namespace:
                continue
            add(Source(namespace, name))
            if isinstance(namespace[name], (types.FunctionType, compiled_type)):
                visit(namespace[name])
        for const in code.co_consts:
            if isinstance(const, types.CodeType) and id(const) not in seen_code:
                seen_code.add(id(const))
                visit_code(const, namespace)

    visit(fn)
    return found


def _children(value):
    if isinstance(value, (list, tuple)) and len(value) <= _MAX_ITEMS:
        return [(("item", i), v) for i, v in enumerate(value)]
    if isinstance(value, dict) and len(value) <= _MAX_ITEMS:
        return [(("item", k), v) for k, v in value.items() if isinstance(k, (str, int))]
    if isinstance(value, _OPAQUE) or isinstance(value, Tensor):
        return []
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict) and len(attrs) <= _MAX_ITEMS:
        return [(("attr", k), v) for k, v in attrs.items() if isinstance(k, str)]
    return []


def locate(tensors, sources: list[Source]) -> list[Source | None]:
    """For each tensor, the shortest path from `sources` that reaches it (breadth first,
    at most `_MAX_DEPTH` steps), or None (a tensor made during tracing: a constant)."""
    wanted = {id(t): i for i, t in enumerate(tensors)}
    out: list[Source | None] = [None] * len(tensors)
    frontier = []
    for src in sources:
        try:
            frontier.append((src, src.read()))
        except LookupError:
            continue
    seen = set()
    for depth in range(_MAX_DEPTH + 1):
        following = []
        for src, value in frontier:
            if id(value) in seen:
                continue
            seen.add(id(value))
            i = wanted.get(id(value))
            if i is not None and out[i] is None:
                out[i] = src
            if depth < _MAX_DEPTH:
                following += [(Source(src.root, src.name, src.steps + (step,)), child)
                              for step, child in _children(value)]
        frontier = following
    return out
