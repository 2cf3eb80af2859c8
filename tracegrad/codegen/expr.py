"""Strided views and the scalar expression DAGs the scheduler fuses into loop nests.

A node computes one scalar per point of its index space (`shape`). Leaves are `Load`s (a buffer
read through a `View`; a `Gather` reads at positions computed by other expressions), `Const`s
and `Index`es (the offset a View gives the point: positions
along a dim, or the flat index within reduced dims); `Apply` is an elementwise op whose
arguments all have the node's shape (broadcasting is already folded into leaf views); `Reduce`
reduces its argument (sum, prod, max, min, or the index of the max/min).
Nodes are shared by identity, so a value used twice inside one kernel is computed once.

Layout ops never produce nodes: `transform` rewrites every leaf view of an expression instead, so
transpose/broadcast/reshape of an unmaterialized expression is free.
"""
from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Callable, Iterator

from ..ir import int64 as INDEX_DTYPE


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

    @property
    def distinct(self) -> int:
        """How many different elements the view reads (broadcast dims count once)."""
        return math.prod(e for e, st in zip(self.shape, self.strides) if st)

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

    def slice(self, dim: int, start: int, size: int, step: int) -> "View":
        """Elements start, start + step, ... (`size` of them) along `dim`."""
        shape, strides = list(self.shape), list(self.strides)
        offset = self.offset + (start * strides[dim] if size else 0)
        shape[dim], strides[dim] = size, strides[dim] * step
        return View(tuple(shape), tuple(strides), offset)

    def select(self, dim: int, index: int) -> "View":
        return View(self.shape[:dim] + self.shape[dim + 1:],
                    self.strides[:dim] + self.strides[dim + 1:],
                    self.offset + index * self.strides[dim])

    def diagonal(self, offset: int, dim1: int, dim2: int) -> "View":
        """numpy's diagonal: the other dims in order, then the diagonal."""
        n, m = self.shape[dim1], self.shape[dim2]
        s1, s2 = self.strides[dim1], self.strides[dim2]
        length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
        rest = [k for k in range(len(self.shape)) if k not in (dim1, dim2)]
        start = (offset * s2 if offset >= 0 else -offset * s1) if length else 0
        return View(tuple(self.shape[k] for k in rest) + (length,),
                    tuple(self.strides[k] for k in rest) + (s1 + s2,), self.offset + start)

    def flip(self, dims) -> "View":
        """Reversed along `dims`: negative strides from the last element."""
        strides, offset = list(self.strides), self.offset
        for d in dims:
            if self.shape[d] > 1:
                offset += (self.shape[d] - 1) * strides[d]
                strides[d] = -strides[d]
        return View(self.shape, tuple(strides), offset)

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


class Index(Node):
    """The int64 offset `view` gives each point: no memory is read. Layout ops rewrite the view
    like a Load's, so an index survives transposes and broadcasts."""

    __slots__ = ("view",)

    def __init__(self, view: View):
        self.view, self.shape, self.dtype, self.rsig = view, view.shape, INDEX_DTYPE, None

    def __repr__(self):
        return f"index(strides={self.view.strides}, offset={self.view.offset})"


class Gather(Node):
    """A load at computed positions: `view` addresses the point (stride 0 along the gathered
    dims) and each `(index, stride, size)` adds index * stride, where `index` is an int64
    expression over the same space, made non-negative first when `wrap`. With a `check`
    (status buffer, slot) an index outside [0, size) is recorded there and replaced by 0, so
    memory is never read out of bounds; the program raises after the call."""

    __slots__ = ("buffer", "view", "indices", "wrap", "check")

    def __init__(self, buffer, view: View, indices, wrap: bool = False, check=None):
        self.buffer, self.view, self.indices = buffer, view, tuple(indices)
        self.wrap, self.check = wrap, check
        self.shape, self.dtype, self.rsig = view.shape, buffer.dtype, None

    def rebuilt(self, view: View, index_nodes) -> "Gather":
        return Gather(self.buffer, view, [(n, s, size) for n, (_, s, size) in
                                          zip(index_nodes, self.indices)], self.wrap, self.check)

    def __repr__(self):
        at = ", ".join(f"{n!r}*{s}" for n, s, _ in self.indices)
        return f"gather({self.buffer.name}, strides={self.view.strides}, at {at})"


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
    """`kind` ("sum", "prod", "amax", "amin", "argmax", "argmin") of `arg` over `dims`. Built
    with the output shape; inside a kernel its shape is the kernel domain and the kernel's
    reduce axes say what is reduced. Arg reductions carry `index`, the flat position of each
    point within the reduced dims (row-major, so ties go to the first)."""

    __slots__ = ("arg", "dims", "keepdim", "kind", "index")

    def __init__(self, arg: Node, dims: tuple, keepdim: bool, shape, dtype, kind: str = "sum",
                 index: Index | None = None):
        self.arg, self.dims, self.keepdim = arg, tuple(dims), keepdim
        self.shape, self.dtype = tuple(shape), dtype
        self.kind, self.index = kind, index
        self.rsig = (arg.shape, self.dims, keepdim)

    def rebuilt(self, arg: Node, shape, index: Index | None = None) -> "Reduce":
        """The same reduction of another argument (and index) over index space `shape`."""
        return Reduce(arg, self.dims, self.keepdim, shape, self.dtype, self.kind,
                      index if index is not None else self.index)

    def __repr__(self):
        return f"{self.kind}({self.arg!r})"


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
        elif isinstance(node, Gather):
            stack.extend((n, False) for n, _, _ in reversed(node.indices))
        elif isinstance(node, Reduce) and into_reduce:
            stack.append((node.arg, False))
            if node.index is not None:
                stack.append((node.index, False))


def transform(root: Node, view_fn: Callable[[View], View | None], shape,
              reduce_fn: Callable[..., Node] | None = None,
              into_reduce: bool = False, memo: dict | None = None) -> Node | None:
    """Rewrite every leaf view with `view_fn` (the expression now has index space `shape`);
    None if some view can't be rewritten. Sharing is preserved.

    Reduce nodes are handed to `reduce_fn` with their rewritten argument and index when
    `into_reduce` (they live in the same index space), else with None (they do not). Pass the same
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
        elif isinstance(node, Index):
            view = view_fn(node.view)
            if view is None:
                return None
            new = Index(view)
        elif isinstance(node, Gather):
            view = view_fn(node.view)
            if view is None:
                return None
            new = node.rebuilt(view, [memo[id(n)] for n, _, _ in node.indices])
        elif isinstance(node, Const):
            new = Const(node.value, node.dtype, shape)
        elif isinstance(node, Apply):
            new = Apply(node.op, [memo[id(a)] for a in node.args], node.attrs, shape, node.dtype)
        else:
            if reduce_fn is None:
                raise AssertionError("layout transform applied across a reduction")
            index = node.index
            if into_reduce:
                new = reduce_fn(node, memo[id(node.arg)],
                                memo[id(index)] if index is not None else None)
            else:
                new = reduce_fn(node, None, None)
        memo[id(node)] = new
    return memo[id(root)]


def loads(root: Node) -> list:
    """The memory reads of an expression: Loads and Gathers (both have buffer and view)."""
    return [n for n in walk(root) if isinstance(n, (Load, Gather))]


def buffers(root: Node) -> list:
    """Every buffer an expression touches: those it reads, and the status buffers its index
    checks write."""
    out = []
    for n in loads(root):
        for b in (n.buffer, n.check[0] if isinstance(n, Gather) and n.check else None):
            if b is not None and all(b is not x for x in out):
                out.append(b)
    return out


def reductions(root: Node) -> list[Reduce]:
    return [n for n in walk(root) if isinstance(n, Reduce)]


def indexes(root: Node) -> list[Index]:
    return [n for n in walk(root) if isinstance(n, Index)]


def to_domain(root: Node) -> Node:
    """Re-express an expression over a reduction's output space over the reduction's input
    (the kernel domain); Reduce nodes keep their argument and get the domain shape."""
    domain, dims, keepdim = root.rsig
    return transform(root, lambda v: v.unreduce(domain, dims, keepdim), domain,
                     reduce_fn=lambda r, arg, index: r.rebuilt(r.arg, domain))


def substitute(root: Node, replace: Callable[[Load], Node | None]) -> Node:
    """Rebuild `root` with each Load for which `replace` returns a node swapped for that node
    (inside reductions too). Sharing is preserved; untouched subtrees are reused."""
    memo: dict[int, Node] = {}
    for node in walk(root):
        if isinstance(node, Load):
            new = replace(node) or node
        elif isinstance(node, Gather):
            nodes = [memo[id(n)] for n, _, _ in node.indices]
            same = all(a is b for a, (b, _, _) in zip(nodes, node.indices))
            new = node if same else node.rebuilt(node.view, nodes)
        elif isinstance(node, Apply):
            args = [memo[id(a)] for a in node.args]
            same = all(a is b for a, b in zip(args, node.args))
            new = node if same else Apply(node.op, args, node.attrs, node.shape, node.dtype)
        elif isinstance(node, Reduce):
            arg = memo[id(node.arg)]
            new = node if arg is node.arg else node.rebuilt(arg, node.shape)
        else:
            new = node
        memo[id(node)] = new
    return memo[id(root)]
