"""Strided views and the scalar expression DAGs the scheduler fuses into loop nests.

A node computes one scalar per point of its index space (`shape`). Leaves are `Load`s (a buffer
read through a `View`) and `Const`s; `Apply` is an elementwise op whose arguments all have the
node's shape (broadcasting is already folded into leaf views); `Reduce` sums its argument.
Nodes are shared by identity, so a value used twice inside one kernel is computed once.

Layout ops never produce nodes: `transform` rewrites every leaf view of an expression instead, so
transpose/broadcast/reshape of an unmaterialized expression is free.
"""
from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Callable, Iterator


def contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for s in reversed(shape):
        strides.append(step)
        step *= max(s, 1)
    return tuple(reversed(strides))


@dataclass(frozen=True)
class View:
    """Element `i` of the view lives at `offset + sum(i[k] * strides[k])` (in elements)."""

    shape: tuple
    strides: tuple
    offset: int = 0

    @staticmethod
    def contiguous(shape, offset: int = 0) -> "View":
        return View(tuple(shape), contiguous_strides(shape), offset)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def is_contiguous(self) -> bool:
        """Row-major dense (strides of size-1 dims don't matter)."""
        want = contiguous_strides(self.shape)
        return all(n == 1 or s == w for n, s, w in zip(self.shape, self.strides, want))

    def transpose(self, perm) -> "View":
        return View(tuple(self.shape[p] for p in perm), tuple(self.strides[p] for p in perm),
                    self.offset)

    def broadcast_to(self, shape) -> "View":
        shape = tuple(shape)
        if shape == self.shape:
            return self
        lead = len(shape) - len(self.shape)
        strides = (0,) * lead + tuple(0 if n == 1 and t != 1 else s for n, s, t in
                                      zip(self.shape, self.strides, shape[lead:]))
        return View(shape, strides, self.offset)

    def reshape(self, shape) -> "View | None":
        """The same elements under a new shape, or None if that needs a copy (numpy's rule)."""
        shape = tuple(shape)
        if shape == self.shape:
            return self
        if math.prod(shape) == 0:
            return View.contiguous(shape, self.offset)
        old = [(n, s) for n, s in zip(self.shape, self.strides) if n != 1]
        new_strides = [0] * len(shape)
        oi = ni = 0
        while ni < len(shape) and oi < len(old):
            nj, oj = ni + 1, oi + 1
            np_, op = shape[ni], old[oi][0]
            while np_ != op:
                if np_ < op:
                    np_ *= shape[nj]
                    nj += 1
                else:
                    op *= old[oj][0]
                    oj += 1
            # The old dims merged into this group must be one strided run.
            for k in range(oi, oj - 1):
                if old[k][1] != old[k + 1][0] * old[k + 1][1]:
                    return None
            new_strides[nj - 1] = old[oj - 1][1]
            for k in range(nj - 1, ni, -1):
                new_strides[k - 1] = new_strides[k] * shape[k]
            ni, oi = nj, oj
        return View(shape, tuple(new_strides), self.offset)

    def unreduce(self, domain, dims, keepdim: bool) -> "View":
        """Re-express a view over a reduction's output as a view over its input `domain`,
        constant (stride 0) along the reduced `dims`."""
        if keepdim:
            strides = tuple(0 if k in dims else s for k, s in enumerate(self.strides))
        else:
            it = iter(self.strides)
            strides = tuple(0 if k in dims else next(it) for k in range(len(domain)))
        return View(tuple(domain), strides, self.offset)


class Node:
    __slots__ = ("shape", "dtype", "rsig")
    # rsig: None, or the (domain, dims, keepdim) of the reductions this expression contains.


class Load(Node):
    __slots__ = ("buffer", "view")

    def __init__(self, buffer, view: View):
        self.buffer, self.view = buffer, view
        self.shape, self.dtype, self.rsig = view.shape, buffer.dtype, None

    def __repr__(self):
        return f"load({self.buffer.name}, strides={self.view.strides}, offset={self.view.offset})"


class Const(Node):
    __slots__ = ("value",)

    def __init__(self, value, dtype, shape=()):
        self.value, self.dtype, self.shape, self.rsig = value, dtype, tuple(shape), None

    def __repr__(self):
        return f"const({self.value!r})"


class Apply(Node):
    __slots__ = ("op", "args", "attrs")

    def __init__(self, op, args, attrs, shape, dtype):
        self.op, self.args, self.attrs = op, tuple(args), dict(attrs)
        self.shape, self.dtype = tuple(shape), dtype
        sigs = {a.rsig for a in self.args if a.rsig is not None}
        if len(sigs) > 1:
            raise AssertionError("an expression mixes reductions of different shapes")
        self.rsig = next(iter(sigs), None)

    def __repr__(self):
        return f"{self.op.name}({', '.join(map(repr, self.args))})"


class Reduce(Node):
    """Sum of `arg` over `dims`. Built with the output shape; inside a kernel its shape is the
    kernel domain and the kernel's reduce axes say what is summed."""

    __slots__ = ("arg", "dims", "keepdim")

    def __init__(self, arg: Node, dims: tuple, keepdim: bool, shape, dtype):
        self.arg, self.dims, self.keepdim = arg, tuple(dims), keepdim
        self.shape, self.dtype = tuple(shape), dtype
        self.rsig = (arg.shape, self.dims, keepdim)

    def __repr__(self):
        return f"sum({self.arg!r})"


def walk(root: Node, into_reduce: bool = True) -> Iterator[Node]:
    """Every distinct node reachable from `root`, operands before users."""
    seen: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            yield node
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if isinstance(node, Apply):
            stack.extend((a, False) for a in reversed(node.args))
        elif isinstance(node, Reduce) and into_reduce:
            stack.append((node.arg, False))


def transform(root: Node, view_fn: Callable[[View], View | None], shape,
              reduce_fn: Callable[[Reduce, Node | None], Node] | None = None,
              into_reduce: bool = False, memo: dict | None = None) -> Node | None:
    """Rewrite every leaf view with `view_fn` (the expression now has index space `shape`);
    None if some view can't be rewritten. Sharing is preserved.

    Reduce nodes are handed to `reduce_fn` with their rewritten argument when `into_reduce`
    (the argument lives in the same index space), else with None (it does not). Pass the same
    `memo` to rewrite several roots that share nodes; it is keyed by id(), so those roots must
    stay alive while it is in use."""
    shape = tuple(shape)
    memo = {} if memo is None else memo
    for node in walk(root, into_reduce):
        if id(node) in memo:
            continue
        if isinstance(node, Load):
            view = view_fn(node.view)
            if view is None:
                return None
            new = Load(node.buffer, view)
        elif isinstance(node, Const):
            new = Const(node.value, node.dtype, shape)
        elif isinstance(node, Apply):
            new = Apply(node.op, [memo[id(a)] for a in node.args], node.attrs, shape, node.dtype)
        else:
            if reduce_fn is None:
                raise AssertionError("layout transform applied across a reduction")
            new = reduce_fn(node, memo[id(node.arg)] if into_reduce else None)
        memo[id(node)] = new
    return memo[id(root)]


def loads(root: Node) -> list[Load]:
    return [n for n in walk(root) if isinstance(n, Load)]


def reductions(root: Node) -> list[Reduce]:
    return [n for n in walk(root) if isinstance(n, Reduce)]


def to_domain(root: Node) -> Node:
    """Re-express an expression over a reduction's output space over the reduction's input
    (the kernel domain); Reduce nodes keep their argument and get the domain shape."""
    domain, dims, keepdim = root.rsig
    return transform(root, lambda v: v.unreduce(domain, dims, keepdim), domain,
                     reduce_fn=lambda r, _: Reduce(r.arg, r.dims, r.keepdim, domain, r.dtype))


def substitute(root: Node, replace: Callable[[Load], Node | None]) -> Node:
    """Rebuild `root` with each Load for which `replace` returns a node swapped for that node
    (inside reductions too). Sharing is preserved; untouched subtrees are reused."""
    memo: dict[int, Node] = {}
    for node in walk(root):
        if isinstance(node, Load):
            new = replace(node) or node
        elif isinstance(node, Apply):
            args = [memo[id(a)] for a in node.args]
            same = all(a is b for a, b in zip(args, node.args))
            new = node if same else Apply(node.op, args, node.attrs, node.shape, node.dtype)
        elif isinstance(node, Reduce):
            arg = memo[id(node.arg)]
            new = node if arg is node.arg else Reduce(arg, node.dims, node.keepdim, node.shape,
                                                      node.dtype)
        else:
            new = node
        memo[id(node)] = new
    return memo[id(root)]
