"""Indexing in compiled code: loads at computed positions (`gather`, and through it
index_select, advanced indexing and one_hot; `constant_pad`, and through it cat, roll and
reflect/replicate padding) and the scatter kernel (stores at computed positions).

Indices read from tensors are checked: an index outside its dim is recorded in the schedule's
status buffer (kind, dim and size of each check are in `Schedule.checks`) and replaced by 0, so
no access leaves its buffer; the Program raises PyTorch's error after the call. Positions that
padding computes are clamped into range instead (the select then discards them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from llvmlite import ir

from ..ir import OPS, Var, bool_, int64
from .expr import Apply, Const, Gather, Index, Load, Node, View, buffers, contiguous_strides, \
    transform
from .scalar import I64, Scalar, ScalarEmitter, memory_type

KINDS = ("gather", "scatter", "pad")


@dataclass(eq=False)
class ScatterKernel:
    """out = init, then for every point p of `domain`: out[p with p[dim] = index(p), for each
    (index, stride, size, check) of `indices`] = src(p) (or += when `accumulate`). Runs in
    row-major order, so with repeated indices the last write wins, as PyTorch's CPU loop."""

    name: str
    out: object          # Buffer
    init: Node           # over out's shape
    domain: tuple
    dims: tuple
    indices: list        # (int64 Node over domain, out stride, size, check or None)
    src: Node            # over domain
    accumulate: bool
    wrap: bool

    kind = "scatter"

    def nodes(self) -> list:
        return [self.init, self.src] + [n for n, _, _, _ in self.indices]

    def reads(self) -> set:
        return {b for n in self.nodes() for b in buffers(n) if b.kind != "status"}

    def writes(self) -> set:
        return {self.out}

    def buffers(self) -> list:
        out = [self.out]
        for b in [b for n in self.nodes() for b in buffers(n)] + [
                c[0] for _, _, _, c in self.indices if c is not None]:
            if all(b is not x for x in out):
                out.append(b)
        return out

    def __repr__(self):
        op = "+=" if self.accumulate else "="
        return (f"<{self.name}: scatter[{','.join(map(str, self.domain))}] into "
                f"{self.out.name} along {self.dims}: {op} {self.src!r}>")


# ---- scheduling ------------------------------------------------------------------------------
def add_check(sched, kind: str, dim: int, size: int) -> tuple:
    """A slot in the status buffer for one index check: (status buffer, slot)."""
    from .schedule import Buffer   # schedule dispatches to this module

    if sched.status is None:
        sched.status = Buffer("status", (0,), int64, "status")
        sched.temps.append(sched.status)
    sched.checks.append((kind, dim, size))
    sched.status.shape = (2 * len(sched.checks),)
    return sched.status, len(sched.checks) - 1


def _plain(sched, a: Var) -> Load:
    """`a` as a strided view of a buffer (materialized if it is an expression)."""
    node = sched.node(a)
    return node if type(node) is Load else sched.materialize(a)


def _over(sched, a: Var, shape, memo) -> Node:
    """`a`'s expression broadcast to `shape` (no reduction inside)."""
    node = sched.node(a)
    if node.rsig is not None:
        node = sched.materialize(a)
    if node.shape != tuple(shape):
        node = transform(node, lambda view: view.broadcast_to(shape), shape, memo=memo)
    return node


def _apply(name: str, args, shape, dtype) -> Apply:
    return Apply(OPS[name], args, {}, shape, dtype)


def lower(sched, eqn, v: Var) -> Node:
    """The expression of a `gather`, `scatter` or `pad` equation (a scatter adds a kernel)."""
    kind = eqn.op.kind
    if kind == "pad":
        return _pad(sched, eqn, v)
    if kind == "gather":
        return _gather(sched, eqn, v)
    return _scatter(sched, eqn, v)


def _error_dims(error, dims) -> tuple:
    """The dims an out-of-range index names in its message."""
    return tuple(error[1]) if isinstance(error, tuple) else dims


def _kind(error) -> str:
    return error[0] if isinstance(error, tuple) else error


def _gather(sched, eqn, v: Var) -> Node:
    x, *idx = eqn.inputs
    dims, wrap, error = eqn.attrs["dims"], eqn.attrs["wrap"], eqn.attrs["error"]
    src = _plain(sched, x)
    strides = list(src.view.strides)
    memo: dict = {}
    nodes = [_over(sched, a, v.shape, memo) for a in idx]
    check = None
    indices = []
    for node, d, shown in zip(nodes, dims, _error_dims(error, dims)):
        c = add_check(sched, _kind(error), shown, x.shape[d])
        check = check or c
        indices.append((node, strides[d], x.shape[d]))
        strides[d] = 0
    return Gather(src.buffer, View(v.shape, tuple(strides), src.view.offset), indices, wrap,
                  check)


def _pad(sched, eqn, v: Var) -> Node:
    (x,) = eqn.inputs
    pads, value = eqn.attrs["pads"], eqn.attrs["value"]
    shape = v.shape
    fill = Const(value, v.dtype, shape)
    if math.prod(x.shape) == 0 or math.prod(shape) == 0:
        return fill
    src = _plain(sched, x)
    strides, offset = list(src.view.strides), src.view.offset
    indices, inside = [], None
    for d, (lo, hi) in enumerate(pads):
        n = x.shape[d]
        if lo <= 0 and hi <= 0:   # a crop is a view
            offset += -lo * strides[d]
            continue
        # position in x of each output position; outside [0, n) is padding
        pos = Index(View(shape, tuple(int(k == d) for k in range(len(shape))), -lo))
        zero, last = Const(0, int64, shape), Const(n - 1, int64, shape)
        ok = _apply("mul", [_apply("ge", [pos, zero], shape, bool_),
                            _apply("le", [pos, last], shape, bool_)], shape, bool_)
        inside = ok if inside is None else _apply("mul", [inside, ok], shape, bool_)
        clamped = _apply("where", [_apply("lt", [pos, zero], shape, bool_), zero,
                                   _apply("where", [_apply("gt", [pos, last], shape, bool_),
                                                    last, pos], shape, int64)], shape, int64)
        indices.append((clamped, strides[d], n))
        strides[d] = 0
    view = View(shape, tuple(strides), offset)
    if not indices:
        return Load(src.buffer, view)
    return _apply("where", [inside, Gather(src.buffer, view, indices), fill], shape, v.dtype)


def _scatter(sched, eqn, v: Var) -> Node:
    x, *idx, src = eqn.inputs
    dims, error = eqn.attrs["dims"], eqn.attrs["error"]
    init = sched.node(x)
    if init.rsig is not None:
        init = sched.materialize(x)
    domain = ()
    for a in idx:
        domain = _broadcast(domain, a.shape)
    memo: dict = {}
    nodes = [_over(sched, a, domain, memo) for a in idx]
    if src.shape == domain or not src.shape:
        src_node = _over(sched, src, domain, {})
    else:   # src is larger than the domain: read its leading block
        plain = _plain(sched, src)
        src_node = Load(plain.buffer, View(domain, plain.view.strides, plain.view.offset))
    out = sched.temp(v.shape, v.dtype)
    strides = contiguous_strides(v.shape)
    indices = [(n, strides[d], v.shape[d], add_check(sched, _kind(error), shown, v.shape[d]))
               for n, d, shown in zip(nodes, dims, _error_dims(error, dims))]
    sched.kernels.append(ScatterKernel(sched.kernel_name(), out, init, domain, dims, indices,
                                       src_node, eqn.attrs["accumulate"], eqn.attrs["wrap"]))
    return Load(out, View.contiguous(v.shape))


def _broadcast(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    return tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(a, b))


# ---- emission --------------------------------------------------------------------------------
def _i64(v: int) -> ir.Constant:
    return ir.Constant(I64, v)


def checked_index(kf, raw: ir.Value, size: int, wrap: bool, check) -> ir.Value:
    """The index to address with: negatives wrapped when `wrap`; with a `check`, an index
    outside [0, size) is recorded in the status buffer and replaced by 0."""
    b = kf.b
    i = raw
    if wrap:
        i = b.select(b.icmp_signed("<", raw, _i64(0)), b.add(raw, _i64(size)), raw)
    if check is None:
        return i
    status, slot = check
    bad = b.icmp_unsigned(">=", i, _i64(size))   # negatives are huge unsigned
    with b.if_then(bad, likely=False):
        base = kf.ptr[id(status)]
        b.store(_i64(1), b.gep(base, [_i64(2 * slot)], inbounds=True))
        b.store(raw, b.gep(base, [_i64(2 * slot + 1)], inbounds=True))
    return b.select(bad, _i64(0), i)


def _offset(kf, view: View, terms) -> ir.Value:
    b = kf.b
    off = kf.offset(view)
    for i, stride in terms:
        t = i if stride == 1 else b.mul(i, _i64(stride), flags=("nsw",))
        off = t if off is None else b.add(off, t, flags=("nsw",))
    return _i64(0) if off is None else off


def _read(kf, buf, ptr) -> Scalar:
    b = kf.b
    v = b.load(ptr, align=buf.dtype.itemsize)
    if buf.dtype is bool_:
        v = b.icmp_unsigned("!=", v, ir.Constant(memory_type(bool_), 0))
    return Scalar(v, buf.dtype)


def _write(kf, buf, ptr, x: Scalar) -> None:
    b = kf.b
    v = b.zext(x.value, memory_type(bool_)) if buf.dtype is bool_ else x.value
    b.store(v, ptr, align=buf.dtype.itemsize)


def gather_value(kf, node: Gather, memo: dict) -> Scalar:
    """Emit a Gather whose index expressions are already in `memo`."""
    terms = []
    for j, (n, stride, size) in enumerate(node.indices):
        check = (node.check[0], node.check[1] + j) if node.check else None
        terms.append((checked_index(kf, memo[id(n)].value, size, node.wrap, check), stride))
    if any(size == 0 for _, _, size in node.indices):
        return ScalarEmitter(kf.b).const(0, node.dtype)   # flagged above; nothing to read
    ptr = kf.b.gep(kf.ptr[id(node.buffer)], [_offset(kf, node.view, terms)], inbounds=True)
    return _read(kf, node.buffer, ptr)


def emit_scatter(kf, k: ScatterKernel) -> None:
    """Body of a scatter kernel function `kf` (an emit._Function over `k.buffers()`)."""
    out = k.out
    if out.size:
        whole = View.contiguous(out.shape)
        kf.loops(list(range(len(out.shape))), out.shape,
                 lambda: kf.store(out, whole, kf.evaluate(k.init, {}, {})))
    if math.prod(k.domain) == 0:
        kf.finish()
        return
    strides = contiguous_strides(out.shape)
    base = View(k.domain, tuple(0 if d in k.dims else s for d, s in enumerate(strides)))
    empty = any(size == 0 for _, _, size, _ in k.indices)

    def body():
        memo: dict = {}
        terms = [(checked_index(kf, kf.evaluate(n, memo, {}).value, size, k.wrap, check), stride)
                 for n, stride, size, check in k.indices]
        if empty:
            return   # every index was flagged: there is nowhere to write
        ptr = kf.b.gep(kf.ptr[id(out)], [_offset(kf, base, terms)], inbounds=True)
        value = kf.evaluate(k.src, memo, {})
        if k.accumulate:
            value = ScalarEmitter(kf.b, "scatter_add").add(_read(kf, out, ptr), value)
        _write(kf, out, ptr, value)
    kf.loops(list(range(len(k.domain))), k.domain, body)
    kf.finish()
