"""Merging loop kernels that iterate over the same domain (multi-output loop fusion).

The scheduler gives every materialized value its own kernel. Two kernels over the same domain
(and the same summed axes) are merged when that creates no cycle among kernels:

- *vertically*, when a map kernel P writes a buffer that kernel C reads at exactly the point
  being computed: C uses P's expression instead of loading it, so a shared subexpression is
  computed once, in registers, and its buffer disappears if nothing else needs it;
- *horizontally*, when neither depends on the other: one pass over the domain instead of two
  (loads of the same input at the same point are emitted once).

A map kernel also joins a reduction over its domain (the reduction's loop nest visits every
point once), unless it reads a value that reduction computes: `mean(3*(x+2)**2)` and its
gradient `(x+2)*c` become one pass over x.
"""
from __future__ import annotations

from .expr import Gather, Load, loads, reductions, substitute
from .schedule import LoopKernel, Schedule, Store


def _edges(kernels) -> dict:
    """kernel index -> set of indices of kernels reading something it writes."""
    writer = {}
    for i, k in enumerate(kernels):
        for b in k.writes():
            writer[id(b)] = i
    out = {i: set() for i in range(len(kernels))}
    for j, k in enumerate(kernels):
        for b in k.reads():
            i = writer.get(id(b))
            if i is not None and i != j:
                out[i].add(j)
    return out


def _reaches(edges, src: int, dst: int, skip_direct: bool) -> bool:
    """Is there a path src -> dst (of length >= 2 when skip_direct)?"""
    stack = [j for j in edges[src] if not (skip_direct and j == dst)]
    seen = set()
    while stack:
        i = stack.pop()
        if i == dst:
            return True
        if i in seen:
            continue
        seen.add(i)
        stack.extend(edges[i])
    return False


def _vertical(p: LoopKernel, c: LoopKernel):
    """C with P's stored values substituted for its loads of them, or None if C reads one of
    P's buffers anywhere but at the current point."""
    produced = {id(s.buffer): s for s in p.stores}
    for s in c.stores:
        for ld in loads(s.node):
            st = produced.get(id(ld.buffer))
            if st is not None and (isinstance(ld, Gather) or ld.view != st.view):
                return None

    def replace(ld: Load):
        st = produced.get(id(ld.buffer))
        return st.node if st is not None else None
    return [Store(s.buffer, s.view, substitute(s.node, replace)) for s in c.stores]


def _reads_points_only(c: LoopKernel, p: LoopKernel) -> bool:
    """C reads none of the reductions P computes (only P's point stores, which a reduction
    loop nest writes as it visits each point), so C's stores can join P's loop nest."""
    reduced = {id(s.buffer) for s in p.stores if reductions(s.node)}
    return not any(id(b) in reduced for b in c.reads())


def _toposort(kernels, edges) -> list:
    indeg = {i: 0 for i in range(len(kernels))}
    for i in edges:
        for j in edges[i]:
            indeg[j] += 1
    ready = sorted(i for i in indeg if indeg[i] == 0)
    order = []
    while ready:
        i = ready.pop(0)
        order.append(kernels[i])
        for j in sorted(edges[i]):
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
                ready.sort()
    assert len(order) == len(kernels), "kernel graph has a cycle"
    return order


def _try_merge(sched: Schedule) -> bool:
    kernels = sched.kernels
    edges = _edges(kernels)
    for j, c in enumerate(kernels):
        if not isinstance(c, LoopKernel):
            continue
        for i, p in enumerate(kernels):
            if i == j or not isinstance(p, LoopKernel) or p.domain != c.domain:
                continue
            if p.axes and c.axes and p.axes != c.axes:
                continue
            if j in edges[i]:
                if (p.axes and not _reads_points_only(c, p)) or \
                        _reaches(edges, i, j, skip_direct=True):
                    continue
                stores = _vertical(p, c)
                if stores is None:
                    continue
            elif i < j and not _reaches(edges, i, j, False) \
                    and not _reaches(edges, j, i, False):
                stores = list(c.stores)
            else:
                continue
            # P's stores stay unless the buffer is now read by no one and isn't a result.
            merged = LoopKernel(c.name, c.domain, c.axes or p.axes, [])
            others = [k for n, k in enumerate(kernels) if n not in (i, j)]
            still_read = {id(b) for k in others for b in k.reads()}
            still_read |= {id(ld.buffer) for s in stores for ld in loads(s.node)}
            for s in p.stores:
                if s.buffer.kind == "output" or id(s.buffer) in still_read:
                    merged.stores.append(s)
                else:
                    sched.temps.remove(s.buffer)
            merged.stores += stores
            rest = [merged if n == j else k for n, k in enumerate(kernels) if n != i]
            sched.kernels = _toposort(rest, _edges(rest))
            return True
    return False


def _big_loads(node, size: int) -> set:
    """(buffer, view) of the loads in `node` that read an array about as large as `size`."""
    out = set()
    for ld in loads(node):
        if ld.view.distinct * 8 > size:
            out.add((id(ld.buffer), ld.view))
    return out


def _try_recompute(sched: Schedule) -> bool:
    """Replace a stored elementwise value by its expression in the kernels that read it, when
    each of them already reads every large array the expression reads (at the same points):
    recomputing there moves no extra memory, the store and its buffer go away."""
    kernels = sched.kernels
    for p in kernels:
        if not isinstance(p, LoopKernel):
            continue
        for st in p.stores:
            buf = st.buffer
            if buf.kind != "temp" or reductions(st.node) or any(
                    isinstance(n, Gather) for n in loads(st.node)):
                continue
            readers = [k for k in kernels if k is not p and buf in k.reads()]
            if not readers or not all(isinstance(k, LoopKernel) and k.domain == p.domain
                                      for k in readers):
                continue
            need = _big_loads(st.node, buf.size)
            ok = True
            for k in readers:
                have = set()
                for s in k.stores:
                    for ld in loads(s.node):
                        if ld.buffer is buf and (isinstance(ld, Gather) or ld.view != st.view):
                            ok = False
                    have |= _big_loads(s.node, buf.size)
                ok = ok and need <= have
            if not ok:
                continue
            for k in readers:
                k.stores = [Store(s.buffer, s.view, substitute(
                    s.node, lambda ld: st.node if ld.buffer is buf else None))
                    for s in k.stores]
            p.stores = [s for s in p.stores if s is not st]
            sched.temps.remove(buf)
            if not p.stores:
                sched.kernels = [k for k in kernels if k is not p]
            return True
    return False


def fuse(sched: Schedule) -> None:
    """Merge kernels in place until no merge applies; then recompute stored values where
    that moves less memory (which may allow more merges)."""
    while True:
        while _try_merge(sched):
            pass
        if not _try_recompute(sched):
            return
