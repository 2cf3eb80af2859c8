"""LLVM IR emission: one module per schedule, one internal function per kernel, one entry.

The entry takes one pointer per parameter, per result and (if there are temporaries) the
arena. When `data_offset` is given those are PyObject* of numpy arrays and the entry reads each
array's data pointer itself (one ctypes call with `py_object` arguments is ~5x cheaper than
fetching `arr.ctypes.data` in Python); otherwise they are the data pointers.

Loops count from 0 with constant trip counts (shapes are static); addresses are affine in the
loop indices, which is what LLVM's vectorizer wants. Kernel pointer arguments are `noalias`:
distinct buffers never overlap (inputs may alias each other, but are only read).
"""
from __future__ import annotations

import math

from llvmlite import ir

from ..ir import bool_, float32, float64, int64
from . import gather, mathlib
from .expr import Const, Gather, Index, Load, Reduce, View, walk
from .expr import buffers as touched
from .scalar import I8, I32, I64, Scalar, ScalarEmitter, llvm_type, memory_type
from .schedule import LoopKernel, MatmulKernel, ScanKernel, Schedule, accumulator_dtype, \
    accumulator_dtypes, blas_layout, \
    scratch_view

VOID = ir.VoidType()
I8P = I8.as_pointer()


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _i64(v: int) -> ir.Constant:
    return ir.Constant(I64, v)


def _loop_width(module: ir.Module, width: int):
    """Loop metadata asking the vectorizer for `width` lanes (`!{self, !{width}}`)."""
    key = f"tg.loop.width.{width}"
    node = getattr(module, "_tg_loop_md", {}).get(key)
    if node is None:
        hint = module.add_metadata([ir.MetaDataString(module, "llvm.loop.vectorize.width"),
                                    ir.Constant(I32, width)])
        node = module.add_metadata([hint, hint])
        node.operands = (node,) + tuple(node.operands[1:])   # a loop ID refers to itself
        if not hasattr(module, "_tg_loop_md"):
            module._tg_loop_md = {}
        module._tg_loop_md[key] = node
    return node


class _Function:
    """An internal kernel function: entry block for allocas, loop helpers, strided access."""

    def __init__(self, module: ir.Module, name: str, buffers: list, extra=()):
        self.buffers = buffers
        fnty = ir.FunctionType(VOID, [memory_type(b.dtype).as_pointer() for b in buffers]
                               + [I64] * len(extra))
        self.fn = fn = ir.Function(module, fnty, name)
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        for arg, buf in zip(fn.args, buffers):
            arg.name = buf.name
            arg.add_attribute("noalias")
        self.ptr = {id(b): a for a, b in zip(fn.args, buffers)}
        # i64 parameters after the buffers: a thread's range of the outermost loop, its part
        self.arg = dict(zip(extra, fn.args[len(buffers):]))
        for name_, arg in self.arg.items():
            arg.name = name_
        self.bounds: dict = {}   # level -> (lo, hi): a loop level that runs a range
        # Lanes the vectorizer must use for innermost loops (None: its choice). It picks the
        # widest type's count, so float32 data summed in float64 would run at 8 lanes.
        self.vector_width = None
        self.entry = fn.append_basic_block("entry")
        self.allocas = ir.IRBuilder(self.entry)
        self.b = ir.IRBuilder(fn.append_basic_block("start"))
        self.idx: dict[int, ir.Value] = {}   # open loop level -> index

    def finish(self):
        self.b.ret_void()
        self.allocas.branch(self.fn.blocks[1])

    # -- loops ----------------------------------------------------------------------------------
    def loops(self, levels: list, extents, body) -> None:
        """for each level in order (outer first): for i in range(extent): ...; then body().
        A level with bounds (a thread's range) runs [lo, hi) instead, maybe empty."""
        if not levels:
            body()
            return
        level, rest = levels[0], levels[1:]
        width = None if rest else self.vector_width

        def run(lo, hi):
            self.span(level, lo, hi, lambda: self.loops(rest, extents, body), width)
        if level in self.bounds:
            lo, hi = self.bounds[level]
            with self.b.if_then(self.b.icmp_unsigned("<", lo, hi)):
                run(lo, hi)
        else:
            run(_i64(0), _i64(extents[level]))

    def blocks(self, level: int, n: int, size: int, body) -> None:
        """for start in range(lo, hi, size): body(start, min(start + size, hi)), where
        [lo, hi) is the level's range on this thread (maybe empty), else [0, n)."""
        b = self.b
        lo, hi = self.bounds.get(level, (_i64(0), _i64(n)))
        pre = b.block
        loop = b.append_basic_block(f"l{level}.blocks")
        after = b.append_basic_block(f"l{level}.blocks.end")
        b.cbranch(b.icmp_unsigned("<", lo, hi), loop, after)
        b.position_at_end(loop)
        start = b.phi(I64, name=f"blk{level}")
        start.add_incoming(lo, pre)
        end = b.add(start, _i64(size), flags=("nuw", "nsw"))
        end = b.select(b.icmp_unsigned("<", end, hi), end, hi)
        body(start, end)
        start.add_incoming(end, b.block)
        b.cbranch(b.icmp_unsigned("<", end, hi), loop, after)
        b.position_at_end(after)

    def span(self, level, start, end, body, width=None) -> None:
        """for the level's index in range(start, end) (not empty): body(); `width` asks the
        vectorizer for that many lanes. A level that is no loop level of the domain (a name)
        only gives its index to `body` through `idx`."""
        b = self.b
        pre = b.block
        loop = b.append_basic_block(f"l{level}.span")
        after = b.append_basic_block(f"l{level}.span.end")
        b.branch(loop)
        b.position_at_end(loop)
        i = b.phi(I64, name=f"i{level}")
        i.add_incoming(start, pre)
        self.idx[level] = i
        body()
        del self.idx[level]
        nxt = b.add(i, _i64(1), flags=("nuw", "nsw"))
        i.add_incoming(nxt, b.block)
        latch = b.cbranch(b.icmp_unsigned("<", nxt, end), loop, after)
        if width:
            latch.set_metadata("llvm.loop", _loop_width(b.module, width))
        b.position_at_end(after)

    # -- memory ---------------------------------------------------------------------------------
    def address(self, buf, view: View, base=None) -> ir.Value:
        off = self.offset(view)
        ptr = self.ptr[id(buf)] if base is None else base
        if off is None:
            return ptr
        return self.b.gep(ptr, [off], inbounds=True)

    def offset(self, view: View) -> ir.Value | None:
        """The element offset of `view` at the current loop indices (None when it is 0)."""
        b = self.b
        off = None
        # Flipped views have negative strides: then only signed overflow is ruled out.
        flags = ("nuw", "nsw") if min(view.strides + (view.offset,)) >= 0 else ("nsw",)
        for level, stride in enumerate(view.strides):
            if stride == 0:
                continue
            i = self.idx[level]   # KeyError here would be a scheduling bug
            term = i if stride == 1 else b.mul(i, _i64(stride), flags=flags)
            off = term if off is None else b.add(off, term, flags=flags)
        if view.offset:
            off = _i64(view.offset) if off is None else b.add(off, _i64(view.offset),
                                                                flags=flags)
        return off

    def load(self, buf, view: View) -> Scalar:
        v = self.b.load(self.address(buf, view), align=buf.dtype.itemsize)
        if buf.dtype is bool_:
            v = self.b.icmp_unsigned("!=", v, ir.Constant(I8, 0))
        return Scalar(v, buf.dtype)

    def store(self, buf, view: View, x: Scalar) -> None:
        if x.dtype is not buf.dtype:
            raise AssertionError(f"storing {x.dtype} into {buf}")
        v = self.b.zext(x.value, I8) if buf.dtype is bool_ else x.value
        self.b.store(v, self.address(buf, view), align=buf.dtype.itemsize)

    # -- expressions ----------------------------------------------------------------------------
    def evaluate(self, root, memo: dict, reduced: dict) -> Scalar:
        """Emit `root` at the current position. `memo` holds values already computed in this
        region (shared subexpressions), `reduced` the value of each Reduce node here."""
        for node in walk(root, into_reduce=False):
            if id(node) in memo:
                continue
            if isinstance(node, Gather):
                val = gather.gather_value(self, node, memo)
            elif isinstance(node, Load):
                # Equal loads from different expressions (e.g. after merging kernels) are one.
                key = (id(node.buffer), node.view)
                val = memo.get(key)
                if val is None:
                    val = memo[key] = self.load(node.buffer, node.view)
            elif isinstance(node, Const):
                val = ScalarEmitter(self.b).const(node.value, node.dtype)
            elif isinstance(node, Index):
                val = Scalar(self.offset(node.view) or _i64(0), int64)
            elif isinstance(node, Reduce):
                val = reduced[id(node)]
            else:
                op = node.op
                e = ScalarEmitter(self.b, op.name)
                val = op.lower(e, *[memo[id(a)] for a in node.args], **node.attrs)
                if val.dtype is not node.dtype:
                    raise AssertionError(f"{op.name}: lowered to {val.dtype}, typed {node.dtype}")
            memo[id(node)] = val
        return memo[id(root)]


# -- loop kernels -------------------------------------------------------------------------------
class _Accumulator:
    """The state of one reduction and how elements (or partial states) combine into it.

    sum and prod accumulate float32 in float64 and int/bool in int64; only their combines carry
    `reassoc`, so the vectorizer may reorder them (f32 data summed in f64 keeps the reordering
    error ~1e-16). amax/amin keep the element type and propagate NaN (llvm.maximum/minimum).
    argmax/argmin carry (value, index) and take a candidate that is larger (smaller), or NaN
    over a number, or equal with a smaller index: the first index whatever the loop order."""

    def __init__(self, kf: _Function, r: Reduce):
        self.kf, self.r, self.kind = kf, r, r.kind
        self.dtypes = accumulator_dtypes(r)
        self.tys = [llvm_type(d) for d in self.dtypes]
        self.slots = None    # allocas of the register strategy

    def _emitter(self) -> ScalarEmitter:
        return ScalarEmitter(self.kf.b, self.kind)

    def init(self) -> list:
        dtype = self.dtypes[0]
        if self.kind in ("sum", "prod"):
            # numpy starts sums from +0.0 (so a sum of -0.0s is +0.0); match it.
            return [self._emitter().const(0 if self.kind == "sum" else 1, dtype).value]
        low = self.kind in ("amax", "argmax")
        if dtype.is_floating_point:
            first = ir.Constant(self.tys[0], -math.inf if low else math.inf)
        else:
            first = _i64(_INT64_MIN if low else _INT64_MAX)
        return [first] if self.kind in ("amax", "amin") else [first, _i64(_INT64_MAX)]

    def element(self, x: Scalar, index: Scalar | None) -> list:
        x = self._emitter().convert(x, self.dtypes[0])
        return [x.value] if index is None else [x.value, index.value]

    def combine(self, acc: list, new: list) -> list:
        b, dtype = self.kf.b, self.dtypes[0]
        (a, *ai), (x, *xi) = acc, new
        if self.kind in ("sum", "prod"):
            if dtype.is_floating_point:
                op = b.fadd if self.kind == "sum" else b.fmul
                return [op(a, x, flags=("reassoc",))]
            return [(b.add if self.kind == "sum" else b.mul)(a, x)]
        high = self.kind in ("amax", "argmax")
        if self.kind in ("amax", "amin"):
            if dtype.is_floating_point:
                fn = mathlib.intrinsic(b.module, "llvm.maximum" if high else "llvm.minimum",
                                       self.tys[0], 2)
                return [b.call(fn, [a, x])]
            return [b.select(b.icmp_signed(">" if high else "<", x, a), x, a)]
        if dtype.is_floating_point:
            better = b.fcmp_ordered(">" if high else "<", x, a)
            x_nan = b.fcmp_unordered("uno", x, x)
            a_nan = b.fcmp_unordered("uno", a, a)
            better = b.or_(better, b.and_(x_nan, b.not_(a_nan)))
            same = b.or_(b.fcmp_ordered("==", x, a), b.and_(x_nan, a_nan))
        else:
            better = b.icmp_signed(">" if high else "<", x, a)
            same = b.icmp_signed("==", x, a)
        take = b.or_(better, b.and_(same, b.icmp_signed("<", xi[0], ai[0])))
        return [b.select(take, x, a), b.select(take, xi[0], ai[0])]

    def result(self, acc: list) -> Scalar:
        if self.kind in ("argmax", "argmin"):
            return Scalar(acc[1], int64)
        return self._emitter().convert(Scalar(acc[0], self.dtypes[0]), self.r.dtype)

    # -- blocked arg reductions: the block's best value by a plain (vectorizable) max/min
    # reduction, then, only if it can beat or tie the state, the first index holding it by an
    # integer min reduction.
    @property
    def is_arg(self) -> bool:
        return self.kind in ("argmax", "argmin")

    def best(self, a, x):
        """The better of two values: NaN wins, as in `combine`."""
        b, high = self.kf.b, self.kind == "argmax"
        if self.dtypes[0].is_floating_point:
            fn = mathlib.intrinsic(b.module, "llvm.maximum" if high else "llvm.minimum",
                                   self.tys[0], 2)
            return b.call(fn, [a, x])
        return b.select(b.icmp_signed(">" if high else "<", x, a), x, a)

    def same(self, x, best):
        """x equals the block's best (NaN equals NaN, -0.0 equals 0.0)."""
        b = self.kf.b
        if self.dtypes[0].is_floating_point:
            both_nan = b.and_(b.fcmp_unordered("uno", x, x), b.fcmp_unordered("uno", best, best))
            return b.or_(b.fcmp_ordered("==", x, best), both_nan)
        return b.icmp_signed("==", x, best)

    def may_take(self, acc_value, best):
        """Whether a block whose best value is `best` can replace or tie the state."""
        b, high = self.kf.b, self.kind == "argmax"
        if self.dtypes[0].is_floating_point:
            worse = b.fcmp_ordered("<" if high else ">", best, acc_value)
            nan_kept = b.and_(b.fcmp_unordered("uno", acc_value, acc_value),
                              b.fcmp_ordered("ord", best, best))
            return b.not_(b.or_(worse, nan_kept))
        return b.not_(b.icmp_signed("<" if high else ">", best, acc_value))


_ARG_BLOCK = 2048   # elements per block: the second pass reads them back from L1
_SUM_BLOCK = 512    # float32 elements summed in float32 (over 64 vector lanes) per block


def _blocked_sums(kf: _Function, level: int, n: int, blocked: list, point, register_add) -> None:
    """The innermost summed loop of a kernel whose float32 sums (`blocked` accumulators)
    accumulate each block of `_SUM_BLOCK` elements in float32, then add the block's sum to
    their float64 state. The block loop vectorizes at the full float32 width, and each lane
    adds only a few elements before the lanes are summed pairwise: more accurate than numpy's
    pairwise float32 sum, with float64 beyond the block. Other reductions and point stores
    run per element as usual. A range's bounds (two threads) are respected."""
    b = kf.b
    f32 = llvm_type(float32)
    part = {id(a): kf.allocas.alloca(f32) for a in blocked}

    def add(a):
        def to(x):
            b.store(b.fadd(b.load(part[id(a)]), x.value, flags=("reassoc",)), part[id(a)])
        return to
    raw = {id(a.r): add(a) for a in blocked}

    def block(start, end):
        for a in blocked:
            b.store(ir.Constant(f32, 0.0), part[id(a)])
        kf.span(level, start, end, lambda: point(register_add, raw))
        for a in blocked:
            register_add(a, a.element(Scalar(b.load(part[id(a)]), float32), None))
    kf.blocks(level, n, _SUM_BLOCK, block)


def _blocked_arg_reduce(kf: _Function, level: int, n: int, accs: dict, args: list, point,
                        register_add, load_state, store_state) -> None:
    """The innermost reduced loop of a kernel with argmax/argmin, in blocks: pass 1 feeds
    every other reduction as usual and reduces each arg reduction's values to the block's
    best; pass 2 (only when some block best can beat or tie its state, which for most data
    is rare) finds the first index holding it. Both passes vectorize; the state update uses
    `combine`, so ties still go to the smallest index whatever the loop order."""
    b = kf.b
    block = min(n, _ARG_BLOCK)
    best = {id(a): kf.allocas.alloca(a.tys[0]) for a in args}
    smin = b.module.globals.get("llvm.smin.i64") or ir.Function(
        b.module, ir.FunctionType(I64, [I64, I64]), "llvm.smin.i64")
    first = {id(a): kf.allocas.alloca(I64) for a in args}

    def pass1_add(a, x):
        if a.is_arg:
            slot = best[id(a)]
            b.store(a.best(b.load(slot), x[0]), slot)
        else:
            register_add(a, x)

    def pass2():
        memo: dict = {}
        for a in args:
            r = a.r
            x = a.element(kf.evaluate(r.arg, memo, {}), kf.evaluate(r.index, memo, {}))
            slot = first[id(a)]
            cand = b.select(a.same(x[0], b.load(best[id(a)])), x[1], _i64(_INT64_MAX))
            b.store(b.call(smin, [b.load(slot), cand]), slot)

    def one_block(start, end):
        for a in args:
            b.store(a.init()[0], best[id(a)])
        kf.span(level, start, end, lambda: point(pass1_add))
        need = None
        for a in args:
            t = a.may_take(b.load(a.slots[0]), b.load(best[id(a)]))
            need = t if need is None else b.or_(need, t)
        with b.if_then(need, likely=False):
            for a in args:
                b.store(_i64(_INT64_MAX), first[id(a)])
            kf.span(level, start, end, pass2)
            for a in args:
                state = a.combine(load_state(a.slots),
                                  [b.load(best[id(a)]), b.load(first[id(a)])])
                store_state(state, a.slots)
    kf.blocks(level, n, block, one_block)


def _varies(node, reduced_levels) -> bool:
    return any(isinstance(n, (Load, Index, Gather))
               and any(n.view.strides[lv] for lv in reduced_levels)
               for n in walk(node, into_reduce=False))


def _emit_loop_kernel(module: ir.Module, k: LoopKernel, name: str, lanes: int = 8) -> list:
    nest = k.nest
    stores = nest.stores
    buffers = []
    for buf in ([s.buffer for s in stores] + [b for s in stores for b in touched(s.node)]
                + [buf for bufs in nest.scratch.values() for buf in bufs]
                + [buf for bufs in nest.partials.values() for buf in bufs]
                + list(nest.totals.values())):
        if all(buf is not x for x in buffers):
            buffers.append(buf)
    split = nest.split
    kf = _Function(module, name, buffers, {"rows": ("lo", "hi"),
                                           "partial": ("lo", "hi", "chunk")}.get(split, ()))
    widths = {acc_dtype.itemsize // r.arg.dtype.itemsize for s in stores for r in walk(s.node)
              if isinstance(r, Reduce) for acc_dtype in accumulator_dtypes(r)[:1]
              if acc_dtype.is_floating_point and r.arg.dtype.is_floating_point}
    if 2 in widths:   # float32 summed in float64: a full vector of float32 lanes
        kf.vector_width = lanes
    if split:
        kf.bounds[0] = (kf.arg["lo"], kf.arg["hi"])
    b = kf.b
    extents = nest.extents
    levels = list(range(len(extents)))
    reduced_levels = [lv for lv in levels if nest.reduced[lv]]
    kept_levels = [lv for lv in levels if not nest.reduced[lv]]
    reds = []
    for s in stores:
        for n in walk(s.node, into_reduce=False):
            if isinstance(n, Reduce) and all(n is not r for r in reds):
                reds.append(n)
    accs = {id(r): _Accumulator(kf, r) for r in reds}
    inner = [s for s in stores
             if _varies(s.node, reduced_levels) or any(s.view.strides[lv] for lv in reduced_levels)]
    outer = [s for s in stores if all(s is not t for t in inner)]

    def point(add_to, raw=None):
        """Body at one domain point: point stores, then feed every reduction (those in
        `raw` get the element before its conversion to the accumulator type)."""
        memo: dict = {}
        for s in inner:
            kf.store(s.buffer, s.view, kf.evaluate(s.node, memo, {}))
        for r in reds:
            index = kf.evaluate(r.index, memo, {}) if r.index is not None else None
            x = kf.evaluate(r.arg, memo, {})
            if raw is not None and id(r) in raw:
                raw[id(r)](x)
            else:
                add_to(accs[id(r)], accs[id(r)].element(x, index))

    def epilogue(values):
        memo: dict = {}
        for s in outer:
            kf.store(s.buffer, s.view, kf.evaluate(s.node, memo, values))

    if nest.strategy == "map":
        def body():
            # Reduce nodes here only reduce over size-1 axes: one element each.
            values = {}

            def single(a, x):
                values[id(a.r)] = a.result(a.combine(a.init(), x))
            point(single)
            epilogue(values)
        kf.loops(levels, extents, body)
        kf.finish()
        return buffers

    def load_state(ptrs):
        return [b.load(p) for p in ptrs]

    def store_state(values, ptrs):
        for v, p in zip(values, ptrs):
            b.store(v, p)

    def register_add(a, x):
        store_state(a.combine(load_state(a.slots), x), a.slots)

    def start_registers():
        for a in accs.values():
            if a.slots is None:   # promoted to registers by SROA
                a.slots = [kf.allocas.alloca(ty) for ty in a.tys]
            store_state(a.init(), a.slots)

    if nest.strategy == "register":
        # Summed levels are innermost: accumulate in a register per output point.
        first = reduced_levels[0]
        args = [a for a in accs.values() if a.is_arg]
        # float32 sums over a long innermost level: in float32 blocks, then float64
        blocked = [a for a in accs.values() if a.kind == "sum" and a.r.arg.dtype is float32
                   and a.dtypes[0] is float64] \
            if extents[levels[-1]] >= 2 * _SUM_BLOCK else []

        def outer_body():
            start_registers()
            if args:
                kf.loops(levels[first:-1], extents, lambda: _blocked_arg_reduce(
                    kf, levels[-1], extents[levels[-1]], accs, args, point, register_add,
                    load_state, store_state))
            elif blocked:
                kf.loops(levels[first:-1], extents, lambda: _blocked_sums(
                    kf, levels[-1], extents[levels[-1]], blocked, point, register_add))
            else:
                kf.loops(levels[first:], extents, lambda: point(register_add))
            if split == "partial":   # this range's states; `_emit_finish` combines them
                for a in accs.values():
                    store_state(load_state(a.slots), [
                        b.gep(kf.ptr[id(buf)], [kf.arg["chunk"]], inbounds=True)
                        for buf in nest.partials[id(a.r)]])
                return
            epilogue({id(a.r): a.result(load_state(a.slots)) for a in accs.values()})
        kf.loops(levels[:first], extents, outer_body)
        kf.finish()
        if split == "partial":
            return buffers, _emit_finish(module, name, buffers, nest, reds, outer, [], [])
        return buffers

    # "scratch": some summed level is outside a kept one. Accumulate into a dense buffer over
    # the kept levels, walking the input in memory order; the innermost run of summed levels
    # (if any) still goes through a register.
    sview = scratch_view(nest)
    suffix = []
    for lv in reversed(levels):
        if not nest.reduced[lv]:
            break
        suffix.insert(0, lv)
    body_levels = levels[:len(levels) - len(suffix)]

    def scratch(a):
        if split != "partial":
            return [kf.address(buf, sview) for buf in nest.scratch[id(a.r)]]
        # this range's accumulator row (the buffers have a leading dim of `chunks`)
        return [kf.address(buf, sview, base=b.gep(kf.ptr[id(buf)], [
            b.mul(kf.arg["chunk"], _i64(buf.size // nest.chunks))], inbounds=True))
            for buf in nest.scratch[id(a.r)]]

    narrow = {rid for rid in nest.totals}   # float32 rows per range (`LoopNest.totals`)
    f32 = llvm_type(float32)

    def scratch_init():
        for a in accs.values():
            if id(a.r) in narrow:
                b.store(ir.Constant(f32, 0.0), scratch(a)[0])
            else:
                store_state(a.init(), scratch(a))
    kf.loops(kept_levels, extents, scratch_init)

    def narrow_add(a):
        def add(x):
            q = scratch(a)[0]
            b.store(b.fadd(b.load(q), x.value, flags=("reassoc",)), q)
        return add
    raw = {id(a.r): narrow_add(a) for a in accs.values() if id(a.r) in narrow}

    def scratch_add(a, state: list):
        ptrs = scratch(a)
        store_state(a.combine(load_state(ptrs), state), ptrs)

    def main_body():
        if suffix:
            start_registers()
            kf.loops(suffix, extents, lambda: point(register_add))
            for a in accs.values():
                scratch_add(a, load_state(a.slots))
        else:
            point(scratch_add, raw)
    kf.loops(body_levels, extents, main_body)

    if split == "partial":
        kf.finish()
        return buffers, _emit_finish(module, name, buffers, nest, reds, outer, kept_levels,
                                     sview)

    def final():
        values = {id(a.r): a.result(load_state(scratch(a))) for a in accs.values()}
        epilogue(values)
    kf.loops(kept_levels, extents, final)
    kf.finish()
    return buffers


def _emit_finish(module: ir.Module, name: str, buffers: list, nest, reds, outer, kept_levels,
                 sview) -> ir.Function:
    """The function that, after every range of a "partial" kernel is reduced, combines their
    states in range order (into range 0's) and stores the results."""
    kf = _Function(module, f"{name}.finish", buffers)
    b = kf.b
    accs = {id(r): _Accumulator(kf, r) for r in reds}

    def ptrs(a, c):
        if nest.strategy == "scratch":
            return [kf.address(buf, sview, base=b.gep(kf.ptr[id(buf)], [
                b.mul(c, _i64(buf.size // nest.chunks))], inbounds=True))
                for buf in nest.scratch[id(a.r)]]
        return [b.gep(kf.ptr[id(buf)], [c], inbounds=True) for buf in nest.partials[id(a.r)]]

    def total(a):   # the float64 row a float32-rows reduction adds its ranges into
        return [kf.address(nest.totals[id(a.r)], sview)]

    wide = [a for a in accs.values() if id(a.r) in nest.totals]
    if wide:
        def start():
            for a in wide:
                b.store(a.element(Scalar(b.load(ptrs(a, _i64(0))[0]), float32), None)[0],
                        total(a)[0])
        kf.loops(kept_levels, nest.extents, start)

    def fold(c):
        for a in accs.values():
            if id(a.r) in nest.totals:
                x = a.element(Scalar(b.load(ptrs(a, c)[0]), float32), None)
                into = total(a)
            else:
                x = [b.load(q) for q in ptrs(a, c)]
                into = ptrs(a, _i64(0))
            state = a.combine([b.load(q) for q in into], x)
            for q, v in zip(into, state):
                b.store(v, q)

    if nest.chunks > 1:   # for each later range, over the kept levels (vectorized)
        kf.span("chunk", _i64(1), _i64(nest.chunks), lambda: kf.loops(
            kept_levels, nest.extents, lambda: fold(kf.idx["chunk"])))

    def final():
        values = {id(a.r): a.result([b.load(q) for q in (
            total(a) if id(a.r) in nest.totals else ptrs(a, _i64(0)))])
            for a in accs.values()}
        memo: dict = {}
        for s in outer:
            kf.store(s.buffer, s.view, kf.evaluate(s.node, memo, values))
    kf.loops(kept_levels, nest.extents, final)
    kf.finish()
    return kf.fn


# -- matmul ---------------------------------------------------------------------------------------
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _emit_matmul(module: ir.Module, k: MatmulKernel, name: str, gemm, lanes: int = 8) -> list:
    """One gemm (or i-k-j loop nest) per batch entry; batch loops are the outer levels."""
    a, b_, out = k.a, k.b, k.out
    buffers = [out] + [x for i, x in enumerate([a.buffer, b_.buffer])
                       if x is not out and (i == 0 or x is not a.buffer)]
    kf = _Function(module, name, buffers, ("lo", "hi") if k.split else ())
    if k.split:   # rows [lo, hi): the loop nest's outermost level (no batch dims)
        kf.bounds[0] = (kf.arg["lo"], kf.arg["hi"])
    b = kf.b
    batch = out.shape[:-2]
    nb = len(batch)
    (m, kdim), n = a.shape[-2:], b_.shape[-1]
    ty = llvm_type(out.dtype)
    zero = ScalarEmitter(b).const(0, out.dtype)
    cstrides = View.contiguous(out.shape).strides
    batch_levels = list(range(nb))

    def base(view):
        """View over the batch levels whose address is the first element of one matrix."""
        return View(batch, view.strides[:nb], view.offset)

    if k.impl == "blas" and kdim > 0:
        g = gemm[out.dtype.name]
        it = ir.IntType(g.int_bits)
        ptr = ty.as_pointer()
        fnty = ir.FunctionType(VOID, [I32, I32, I32, it, it, it, ty, ptr, it, ptr, it, ty, ptr,
                                      it])
        fn = module.globals.get(g.symbol) or ir.Function(module, fnty, g.symbol)
        (ta, lda), (tb, ldb) = blas_layout(a.view), blas_layout(b_.view)

        def call():
            rows, a_ptr = ir.Constant(it, m), kf.address(a.buffer, base(a.view))
            c_ptr = kf.address(out, View(batch, cstrides[:nb]))
            if k.split:   # this thread's rows [lo, hi) of A and C
                lo, hi = kf.arg["lo"], kf.arg["hi"]
                rows = b.sub(hi, lo)
                rows = rows if g.int_bits == 64 else b.trunc(rows, it)
                a_ptr = b.gep(a_ptr, [b.mul(lo, _i64(a.view.strides[-2]))], inbounds=True)
                c_ptr = b.gep(c_ptr, [b.mul(lo, _i64(n))], inbounds=True)
            b.call(fn, [ir.Constant(I32, _ROW_MAJOR),
                        ir.Constant(I32, _NO_TRANS if ta == "N" else _TRANS),
                        ir.Constant(I32, _NO_TRANS if tb == "N" else _TRANS),
                        rows, ir.Constant(it, n), ir.Constant(it, kdim),
                        ir.Constant(ty, 1.0), a_ptr,
                        ir.Constant(it, lda), kf.address(b_.buffer, base(b_.view)),
                        ir.Constant(it, ldb), ir.Constant(ty, 0.0), c_ptr,
                        ir.Constant(it, max(n, 1))])
        kf.loops(batch_levels, batch, call)
        kf.finish()
        return buffers
    # i-k-j loop nest: the inner loop runs along rows of B and C, so it vectorizes.
    e = ScalarEmitter(b, "matmul")
    kf.loops(list(range(nb + 2)), out.shape,
             lambda: kf.store(out, View.contiguous(out.shape), zero))
    if kdim == 0:
        kf.finish()
        return buffers
    # levels: batch..., i, k, j
    sa, sb = a.view.strides, b_.view.strides
    dom = batch + (m, kdim, n)
    av = View(dom, sa[:nb] + (sa[nb], sa[nb + 1], 0), a.view.offset)
    bv = View(dom, sb[:nb] + (0, sb[nb], sb[nb + 1]), b_.view.offset)
    cv = View(dom, cstrides[:nb] + (n, 0, 1))

    def body():
        prod = e.mul(kf.load(a.buffer, av), kf.load(b_.buffer, bv))
        kf.store(out, cv, e.add(kf.load(out, cv), prod))

    vec = lanes * 4 // out.dtype.itemsize   # lanes of this dtype in the widest vectors
    mt, nt = (m // _MR * _MR, n // (2 * vec) * 2 * vec) \
        if out.dtype.is_floating_point and sb[nb + 1] == 1 and not k.split else (0, 0)
    if mt and nt:
        # Register tiles of _MR rows x 2 vectors of C, accumulated over k; the rest of the
        # rows and columns take the i-k-j loop nest.
        kf.loops(batch_levels, batch, lambda: _matmul_tiles(kf, k, mt, nt, vec))
        kf.bounds[nb] = (_i64(mt), _i64(m))
        kf.loops(list(range(nb + 3)), dom, body)
        kf.bounds[nb] = (_i64(0), _i64(mt))
        kf.bounds[nb + 2] = (_i64(nt), _i64(n))
        kf.loops(list(range(nb + 3)), dom, body)
        kf.bounds.clear()
    else:
        kf.loops(list(range(nb + 3)), dom, body)
    kf.finish()
    return buffers


_MR = 4   # rows of a register tile (times two vectors of columns)


def _matmul_tiles(kf: _Function, k: MatmulKernel, mt: int, nt: int, vec: int) -> None:
    """C[i:i+_MR, j:j+2*vec] = A[i:i+_MR, :] @ B[:, j:j+2*vec] for every full tile of the
    current batch entry: 2*_MR vector accumulators, one broadcast of A and two vector loads of
    B (contiguous rows) per k. The i-k-j nest is memory-bound on C; this is compute-bound."""
    b = kf.b
    a, b_, out = k.a, k.b, k.out
    nb = len(out.shape) - 2
    kdim, n = a.shape[-1], out.shape[-1]
    sa, sb = a.view.strides, b_.view.strides
    elem = llvm_type(out.dtype)
    vty = ir.VectorType(elem, vec)
    fma = b.module.globals.get(f"llvm.fmuladd.v{vec}{'f32' if elem == ir.FloatType() else 'f64'}")
    if fma is None:
        fma = ir.Function(b.module, ir.FunctionType(vty, [vty] * 3),
                          f"llvm.fmuladd.v{vec}{'f32' if elem == ir.FloatType() else 'f64'}")
    zero = ir.Constant(vty, [0.0] * vec)
    undef = ir.Constant(vty, ir.Undefined)
    splat = ir.Constant(ir.VectorType(I32, vec), [0] * vec)
    batch_view = View(out.shape[:nb], sa[:nb], a.view.offset)
    a_base = kf.address(a.buffer, batch_view)
    b_base = kf.address(b_.buffer, View(out.shape[:nb], sb[:nb], b_.view.offset))
    c_base = kf.address(out, View(out.shape[:nb], View.contiguous(out.shape).strides[:nb]))
    slots = [[kf.allocas.alloca(vty) for _ in range(2)] for _ in range(_MR)]

    def tile(i, j):
        for row in slots:
            for slot in row:
                b.store(zero, slot)

        def step(kk):
            bvec = [b.load(b.bitcast(b.gep(b_base, [b.add(b.mul(kk, _i64(sb[nb])),
                                                         b.add(j, _i64(h * vec)))],
                                            inbounds=True), vty.as_pointer()), align=4)
                    for h in range(2)]
            for r in range(_MR):
                x = b.load(b.gep(a_base, [b.add(b.mul(b.add(i, _i64(r)), _i64(sa[nb])),
                                               b.mul(kk, _i64(sa[nb + 1])))], inbounds=True))
                xv = b.shuffle_vector(b.insert_element(undef, x, ir.Constant(I32, 0)), undef,
                                      splat)
                for h in range(2):
                    b.store(b.call(fma, [xv, bvec[h], b.load(slots[r][h])]), slots[r][h])
        kf.span(nb + 1, _i64(0), _i64(kdim), lambda: step(kf.idx[nb + 1]))
        for r in range(_MR):
            for h in range(2):
                ptr = b.gep(c_base, [b.add(b.mul(b.add(i, _i64(r)), _i64(n)),
                                           b.add(j, _i64(h * vec)))], inbounds=True)
                b.store(b.load(slots[r][h]), b.bitcast(ptr, vty.as_pointer()), align=4)

    def rows():
        i = b.mul(kf.idx[nb], _i64(_MR))
        kf.span(nb + 2, _i64(0), _i64(nt // (2 * vec)),
                lambda: tile(i, b.mul(kf.idx[nb + 2], _i64(2 * vec))))
    kf.span(nb, _i64(0), _i64(mt // _MR), rows)


# -- scans --------------------------------------------------------------------------------------
def _emit_scan(module: ir.Module, k: ScanKernel, name: str) -> list:
    """Loops over every dim but the scanned one; along it, a running sum or product (float32
    carried in float64, as PyTorch's CPU kernels do) stored at each step."""
    out = k.out
    buffers = [out] + [buf for buf in touched(k.node) if buf is not out]
    kf = _Function(module, name, buffers)
    b = kf.b
    e = ScalarEmitter(b, k.op)
    acc_dtype = accumulator_dtype(out.dtype)
    slot = kf.allocas.alloca(llvm_type(acc_dtype))   # promoted to a register by SROA
    n, view = out.shape[k.dim], View.contiguous(out.shape)

    def step():
        if k.reverse:   # position n-1-i at step i
            kf.idx[k.dim] = b.sub(_i64(n - 1), kf.idx[k.dim], flags=("nuw", "nsw"))
        x = e.convert(kf.evaluate(k.node, {}, {}), acc_dtype)
        acc = Scalar(b.load(slot), acc_dtype)
        acc = e.add(acc, x) if k.op == "cumsum" else e.mul(acc, x)
        b.store(acc.value, slot)
        kf.store(out, view, e.convert(acc, out.dtype))

    def line():
        # -0.0 + x is x for every x, so a leading -0.0 stays -0.0 (numpy starts from x[0]).
        start = (-0.0 if acc_dtype.is_floating_point else 0) if k.op == "cumsum" else 1
        b.store(e.const(start, acc_dtype).value, slot)
        kf.loops([k.dim], out.shape, step)
    kf.loops([lv for lv in range(len(out.shape)) if lv != k.dim], out.shape, line)
    kf.finish()
    return buffers


# -- module -------------------------------------------------------------------------------------
def emit_module(sched: Schedule, entry: str, target, data_offset: int | None,
                gemm: dict) -> ir.Module:
    module = ir.Module(name=sched.fn.name)
    module.triple = target.triple
    module.data_layout = target.data_layout
    lanes = 16 if "+avx512f" in target.features else 8   # float32 in the widest vectors
    calls = []   # (kernel function, its buffers, the split extent or 0, finish function)
    for k in sched.kernels:
        name = f"tg.{sched.fn.name}.{k.name}"
        finish, extent, chunks = None, 0, 0
        if isinstance(k, MatmulKernel):
            buffers = _emit_matmul(module, k, name, gemm, lanes)
            extent, chunks = (k.a.shape[-2], k.chunks) if k.split else (0, 0)
        elif isinstance(k, ScanKernel):
            buffers = _emit_scan(module, k, name)
        elif isinstance(k, gather.ScatterKernel):
            buffers = k.buffers()
            gather.emit_scatter(_Function(module, name, buffers), k)
        else:
            buffers = _emit_loop_kernel(module, k, name, lanes)
            if isinstance(buffers, tuple):
                buffers, finish = buffers
            extent, chunks = (k.nest.extents[0], k.nest.chunks) if k.nest.split else (0, 0)
        calls.append((k, module.globals[name], buffers, extent, chunks, finish))

    parallel = sched.sync_words > 0
    outputs = [o[0] for o in sched.outputs if isinstance(o, tuple)]
    nargs = len(sched.inputs) + len(outputs) + (1 if sched.arena_bytes else 0)
    fn = ir.Function(module, ir.FunctionType(VOID, [I8P] * nargs
                                             + ([I8P, I64] if parallel else [])), entry)
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def data(arg):
        if data_offset is None:
            return arg
        slot = b.bitcast(b.gep(arg, [_i64(data_offset)], inbounds=True), I8P.as_pointer())
        return b.load(slot, align=8)

    if parallel:   # first: a worker that starts too late must not read the other arguments
        par = _Parallel(b, b.bitcast(data(fn.args[-2]), I64.as_pointer()), fn.args[-1])
    base = {}
    args = iter(fn.args)
    for buf in list(sched.inputs) + outputs:
        base[id(buf)] = data(next(args))
    arena = data(next(args)) if sched.arena_bytes else None
    for buf in sched.temps:
        # Without an arena every temporary is empty (size 0): its loops never touch it.
        base[id(buf)] = (b.gep(arena, [_i64(buf.offset)], inbounds=True) if arena is not None
                         else ir.Constant(I8P, None))
    info = {id(c[0]): c[1:] for c in calls}
    ptrs = {}
    for kfn, buffers, *_ in info.values():
        ptrs[id(kfn)] = [b.bitcast(base[id(buf)], memory_type(buf.dtype).as_pointer())
                         for buf in buffers]
    if not parallel:
        for kfn, *_ in (info[id(k)] for k in sched.kernels):
            b.call(kfn, ptrs[id(kfn)])
        b.ret_void()
        return module
    groups = sched.groups
    for i, group in enumerate(groups):
        members = [info[id(k)] for k in group]
        kfn, _, extent, chunks, _ = members[0]
        if extent:   # split: every member range by range, then the partial ones' finish
            par.ranges([(m[0], ptrs[id(m[0])], m[4] is not None) for m in members], extent,
                       chunks, i)
            finishes = [(m[4], ptrs[id(m[0])]) for m in members if m[4] is not None]
            if finishes:
                par.barrier()
                with b.if_then(par.main):
                    for fin, p in finishes:
                        b.call(fin, p)
        else:
            with b.if_then(par.main):
                b.call(kfn, ptrs[id(kfn)])
        par.barrier()   # the last one: the worker is done before the caller returns
    b.ret_void()
    return module


_SPINS = 2000   # pause instructions (a few microseconds) before a waiting thread sleeps
_SYS_FUTEX, _FUTEX_WAIT, _FUTEX_WAKE = 202, 128, 129   # x86-64 Linux; *_PRIVATE operations


class _Parallel:
    """The entry of a program run by two threads at once (see `worker.py`): part 0 is the
    caller, part 1 the worker. `sync` holds int64 words zeroed per call: [0] counts barrier
    arrivals, [1] says whether the worker joined (0 not yet, 1 joined, 2 the caller went on
    alone: a worker that starts late then does nothing), [2 + k] hands out the ranges of the
    k-th group of kernels (`schedule.group_ranges`). Ranges are taken from a counter, so a thread the OS keeps waiting
    costs nothing but its share."""

    CHUNKS = 16   # ranges per kernel: small enough to balance, large enough to vectorize

    def __init__(self, b: ir.IRBuilder, sync, part):
        self.b, self.sync, self.part = b, sync, part
        self.main = b.icmp_unsigned("==", part, _i64(0))
        self.state = b.gep(sync, [_i64(1)], inbounds=True)
        self.count = 0
        join = b.append_basic_block("join")
        late = b.append_basic_block("join.late")
        go = b.append_basic_block("join.done")
        b.cbranch(self.main, go, join)
        b.position_at_end(join)   # the worker joins unless the caller went on alone
        joined = b.extract_value(b.cmpxchg(self.state, _i64(0), _i64(1), "seq_cst",
                                           "seq_cst"), 1)
        b.cbranch(joined, go, late)
        b.position_at_end(late)
        b.ret_void()
        b.position_at_end(go)

    def joined(self) -> ir.Value:
        return self.b.icmp_unsigned("==", self.b.load_atomic(self.state, "acquire", 8),
                                    _i64(1))

    def barrier(self) -> None:
        b = self.b
        self.count += 1
        with b.if_then(self.main):   # first barrier without the worker: go on alone
            b.cmpxchg(self.state, _i64(0), _i64(2), "seq_cst", "seq_cst")
        with b.if_then(self.joined()):
            _barrier(b, self.sync, _i64(2 * self.count))

    def ranges(self, members: list, extent: int, chunks: int, k: int) -> None:
        """Call every member (kernel function, pointers, partial?) on each range of
        [0, extent) (`chunks` of them), taking ranges from counter k until none is left; a
        partial kernel also gets the range's number."""
        b = self.b
        size = -(-extent // chunks)
        counter = b.gep(self.sync, [_i64(2 + k)], inbounds=True)
        head = b.append_basic_block(f"ranges{k}")
        body = b.append_basic_block(f"ranges{k}.body")
        done = b.append_basic_block(f"ranges{k}.done")
        b.branch(head)
        b.position_at_end(head)
        c = b.atomic_rmw("add", counter, _i64(1), "monotonic")
        b.cbranch(b.icmp_unsigned("<", c, _i64(chunks)), body, done)
        b.position_at_end(body)
        lo = b.mul(c, _i64(size))
        end = b.add(lo, _i64(size))
        hi = b.select(b.icmp_unsigned("<", end, _i64(extent)), end, _i64(extent))
        for kfn, ptrs, partial in members:
            b.call(kfn, ptrs + [lo, hi] + ([c] if partial else []))
        b.branch(head)
        b.position_at_end(done)


def _barrier(b: ir.IRBuilder, sync, target) -> None:
    """Arrive at a barrier (add one to the counter both threads share) and wait until it
    reaches `target`: the threads' k-th barrier waits for 2k arrivals. Seq-cst arrival and
    acquire loads order every kernel's stores before the other thread's next loads. A waiter
    spins briefly, then sleeps (Linux futex on the counter's low word; elsewhere it yields):
    the other thread may be running a long one-thread kernel, or waiting for a core."""
    b.atomic_rmw("add", sync, _i64(1), "seq_cst")
    module = b.module
    x86 = module.triple.startswith(("x86_64", "i686", "i386"))
    futex = module.triple.startswith("x86_64") and "linux" in module.triple
    if futex:
        syscall = module.globals.get("syscall") or ir.Function(
            module, ir.FunctionType(I64, [I64], var_arg=True), "syscall")
        word = b.bitcast(sync, I32.as_pointer())   # little-endian: the counter's low half
        null = ir.Constant(I8P, None)
        b.call(syscall, [_i64(_SYS_FUTEX), word, ir.Constant(I32, _FUTEX_WAKE),
                         ir.Constant(I32, 1)])
    else:
        yield_ = module.globals.get("sched_yield") or ir.Function(
            module, ir.FunctionType(I32, []), "sched_yield")
    pause = None
    if x86:
        pause = module.globals.get("llvm.x86.sse2.pause") or ir.Function(
            module, ir.FunctionType(VOID, []), "llvm.x86.sse2.pause")
    pre = b.block
    spin = b.append_basic_block("barrier.spin")
    wait = b.append_basic_block("barrier.wait")
    sleep = b.append_basic_block("barrier.sleep")
    done = b.append_basic_block("barrier.done")
    b.branch(spin)
    b.position_at_end(spin)
    n = b.phi(I64)
    n.add_incoming(_i64(0), pre)
    count = b.load_atomic(sync, "acquire", 8)
    b.cbranch(b.icmp_signed(">=", count, target), done, wait)
    b.position_at_end(wait)
    if pause is not None:
        b.call(pause, [])
    more = b.add(n, _i64(1))
    b.cbranch(b.icmp_unsigned("<", n, _i64(_SPINS)), spin, sleep)
    b.position_at_end(sleep)
    if futex:   # returns at once if the counter moved since `count` was read
        b.call(syscall, [_i64(_SYS_FUTEX), word, ir.Constant(I32, _FUTEX_WAIT),
                         b.trunc(count, I32), null])
    else:
        b.call(yield_, [])
    b.branch(spin)
    n.add_incoming(more, wait)
    n.add_incoming(n, sleep)
    b.position_at_end(done)
