"""Forward/backward split: which forward values the backward keeps and which it recomputes.

`split(fwd, adjoint, name)` turns a forward function and its adjoint (`vjp.py`) into

- a forward returning the outputs, then the values saved for backward;
- a backward taking residuals (saved values and forward inputs), then the cotangents, that
  first recomputes what was not saved and then runs the adjoint's equations.

The choice is a minimum cut. Every value the adjoint reads must be available in the backward:
a forward input (free: the caller holds it), a saved value (costs its bytes), or the result of a
cheap equation whose operands are available. Cheap means elementwise, layout (reshape,
broadcast, transpose, slices...), constant sources, and composites that decompose into those
only; matmuls, reductions, scans, gathers and scatters are never recomputed. In the flow graph
each value is an edge of capacity its size in bytes from `in` to `out`; the source feeds the
`in` of every value that cannot be recomputed, operands feed the `in` of cheap results, and the
`out` of every value the adjoint reads feeds the sink. A minimum cut is a set of values to save
of least total size; of the minimum cuts the one nearest the sink is taken, which recomputes
the fewest values (every other minimum cut recomputes at least those), so on a tie the value is
saved. Saving exactly what the adjoint reads is always a cut, so the split never saves more
bytes than the adjoint alone would.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .builder import Builder, Sym
from .function import Eqn, Function, Literal, Var
from .simplify import canonicalize, dead_code_elimination

CHEAP_KINDS = ("elementwise", "layout", "source")
_NOT_RECOMPUTED = ("guard",)   # a guard's result is a check of this call, not a value


@dataclass
class Split:
    """The result of `split`: the two functions, and what passes from one to the other."""

    forward: Function      # params -> (*outputs, *saved)
    backward: Function     # (*residuals, *cotangents) -> gradients, as the adjoint's results
    residuals: list        # forward Vars bound to backward.params[:len(residuals)]
    saved: list            # the residuals that are not forward inputs, in forward order
    recomputed: int        # equations the backward recomputes
    unsplit_bytes: int     # what saving every non-input value the adjoint reads would cost

    @property
    def saved_bytes(self) -> int:
        """Bytes kept alive between forward and backward (forward inputs not counted)."""
        return sum(nbytes(v) for v in self.saved)


def nbytes(v: Var) -> int:
    """The size of a value's buffer."""
    return math.prod(v.shape) * v.dtype.itemsize


def split(fwd: Function, adjoint, name: str | None = None, overwritten=()) -> Split:
    """Split `fwd` and its `adjoint` (a `vjp.Adjoint` of `fwd`) with the fewest saved bytes.

    `overwritten` are parameters the caller updates in place after the forward: the backward
    recomputes nothing from them (it would see the new values), so what depends on them is
    saved."""
    params = {id(p) for p in fwd.params}
    stale = {id(p) for p in overwritten}
    producer = {id(v): e for e in fwd.eqns for v in e.outputs}
    needed = list(adjoint.residuals)

    def cheap(eqn) -> bool:
        return recomputable(eqn) and not any(id(a) in stale for a in eqn.inputs)

    saved_ids = _min_cut(needed, params, producer, cheap)

    # The values the backward recomputes: what the needed values depend on, up to saved ones.
    recompute, stack = set(), [v for v in needed if id(v) not in params]
    while stack:
        v = stack.pop()
        if id(v) in saved_ids or id(v) in params or id(producer[id(v)].outputs[0]) in recompute:
            continue
        eqn = producer[id(v)]
        assert cheap(eqn), f"{eqn.op.name}: the cut left it neither saved nor cheap"
        recompute.add(id(eqn.outputs[0]))
        stack += [a for a in eqn.inputs if isinstance(a, Var)]
    used_params = {id(a) for e in fwd.eqns if id(e.outputs[0]) in recompute
                   for a in e.inputs if isinstance(a, Var) and id(a) in params}
    used_params |= {id(v) for v in needed if id(v) in params}
    residuals = [p for p in fwd.params if id(p) in used_params]
    saved = [v for e in fwd.eqns for v in e.outputs if id(v) in saved_ids]
    residuals += saved

    env = {id(v): Var(v.type, v.hint) for v in residuals}
    res_params = [env[id(v)] for v in residuals]

    def atom(a):
        return a if isinstance(a, Literal) else env[id(a)]

    eqns = []
    for e in fwd.eqns:
        if id(e.outputs[0]) not in recompute:
            continue
        outs = [Var(v.type) for v in e.outputs]
        env.update((id(v), o) for v, o in zip(e.outputs, outs))
        where = "recomputed" + (f" from {e.origin}" if e.origin else "")
        eqns.append(Eqn(e.op, [atom(a) for a in e.inputs], outs, dict(e.attrs), where))
    n_res = adjoint.n_residuals
    adj = adjoint.fn
    sub = {id(p): env[id(r)] for p, r in zip(adj.params[:n_res], adjoint.residuals)}
    for e in adj.eqns:
        eqns.append(Eqn(e.op, [sub.get(id(a), a) if isinstance(a, Var) else a
                               for a in e.inputs], e.outputs, dict(e.attrs), e.origin))
    results = [sub.get(id(r), r) if isinstance(r, Var) else r for r in adj.results]
    backward = Function(name or adj.name, res_params + adj.params[n_res:], eqns, results)
    backward = canonicalize(dead_code_elimination(backward))
    forward = Function(fwd.name, fwd.params, fwd.eqns, fwd.results + saved)
    unsplit = sum(nbytes(v) for v in needed if id(v) not in params)
    return Split(forward, backward, residuals, saved, len(recompute), unsplit)


def recomputable(eqn: Eqn) -> bool:
    """Whether the backward may compute `eqn` again instead of reading its result."""
    return (len(eqn.outputs) == 1 and eqn.op.name not in _NOT_RECOMPUTED
            and _cheap(eqn.op, [a.type for a in eqn.inputs], eqn.attrs))


_composites: dict = {}   # (op name, operand types, attrs) -> whether its decomposition is cheap


def _cheap(op, types, attrs) -> bool:
    if op.kind in CHEAP_KINDS:
        return True
    if op.kind != "composite" or op.decompose is None:
        return False
    key = (op.name, tuple(map(str, types)), repr(sorted(attrs.items())))
    if key not in _composites:
        b = Builder()
        try:
            op.decompose(*[Sym(b, Var(t)) for t in types], **attrs)
            _composites[key] = all(_cheap(e.op, [a.type for a in e.inputs], e.attrs)
                                   for e in b.eqns)
        except Exception:   # a rule that needs literal operands: treat the op as expensive
            _composites[key] = False
    return _composites[key]


def _min_cut(needed, params, producer, cheap) -> set:
    """Ids of the values to save: a minimum cut, the one nearest the sink (see module doc)."""
    values, stack = {}, [v for v in needed if id(v) not in params]
    while stack:                      # the values the needed ones may be recomputed from
        v = stack.pop()
        if id(v) in values:
            continue
        values[id(v)] = v
        eqn = producer[id(v)]
        if cheap(eqn):
            stack += [a for a in eqn.inputs if isinstance(a, Var) and id(a) not in params]
    inf = 1 + sum(nbytes(v) for v in values.values())
    cap: dict = {}
    adj: dict = {}

    def edge(u, w, c):
        if (u, w) not in cap:
            adj.setdefault(u, []).append(w)
            adj.setdefault(w, []).append(u)
            cap[(w, u)] = cap.get((w, u), 0)
        cap[(u, w)] = c

    for i, v in values.items():
        edge(("in", i), ("out", i), nbytes(v))
        eqn = producer[i]
        if not cheap(eqn):
            edge("S", ("in", i), inf)
            continue
        for a in eqn.inputs:
            if isinstance(a, Var) and id(a) not in params:
                edge(("out", id(a)), ("in", i), inf)
    for v in needed:
        if id(v) not in params:
            edge(("out", id(v)), "T", inf)

    while True:          # Edmonds-Karp: augment along shortest paths until none is left
        parent = {"S": None}
        queue = deque(["S"])
        while queue and "T" not in parent:
            u = queue.popleft()
            for w in adj.get(u, ()):
                if w not in parent and cap[(u, w)] > 0:
                    parent[w] = u
                    queue.append(w)
        if "T" not in parent:
            break
        path, w = [], "T"
        while parent[w] is not None:
            path.append((parent[w], w))
            w = parent[w]
        flow = min(cap[e] for e in path)
        for u, w in path:
            cap[(u, w)] -= flow
            cap[(w, u)] += flow

    # The sink side: nodes that still reach T through edges with capacity left.
    sink_side, queue = {"T"}, deque(["T"])
    while queue:
        w = queue.popleft()
        for u in adj.get(w, ()):
            if u not in sink_side and cap[(u, w)] > 0:
                sink_side.add(u)
                queue.append(u)
    return {i for i in values if ("out", i) in sink_side and ("in", i) not in sink_side}
