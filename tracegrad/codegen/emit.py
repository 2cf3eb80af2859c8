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

from llvmlite import ir

from ..ir import bool_
from .expr import Const, Load, Reduce, View, walk
from .scalar import I8, I32, I64, Scalar, ScalarEmitter, llvm_type, memory_type
from .schedule import LoopKernel, MatmulKernel, Schedule, accumulator_dtype, blas_layout, \
    scratch_view

VOID = ir.VoidType()
I8P = I8.as_pointer()


def _i64(v: int) -> ir.Constant:
    return ir.Constant(I64, v)


class _Function:
    """An internal kernel function: entry block for allocas, loop helpers, strided access."""

    def __init__(self, module: ir.Module, name: str, buffers: list):
        self.buffers = buffers
        fnty = ir.FunctionType(VOID, [memory_type(b.dtype).as_pointer() for b in buffers])
        self.fn = fn = ir.Function(module, fnty, name)
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        for arg, buf in zip(fn.args, buffers):
            arg.name = buf.name
            arg.add_attribute("noalias")
        self.ptr = {id(b): a for a, b in zip(fn.args, buffers)}
        self.entry = fn.append_basic_block("entry")
        self.allocas = ir.IRBuilder(self.entry)
        self.b = ir.IRBuilder(fn.append_basic_block("start"))
        self.idx: dict[int, ir.Value] = {}   # open loop level -> index

    def finish(self):
        self.b.ret_void()
        self.allocas.branch(self.fn.blocks[1])

    # -- loops ----------------------------------------------------------------------------------
    def loops(self, levels: list, extents, body) -> None:
        """for each level in order (outer first): for i in range(extent): ...; then body()."""
        if not levels:
            body()
            return
        level, rest = levels[0], levels[1:]
        n = extents[level]
        b = self.b
        pre = b.block
        loop = b.append_basic_block(f"l{level}")
        after = b.append_basic_block(f"l{level}.end")
        b.branch(loop)
        b.position_at_end(loop)
        i = b.phi(I64, name=f"i{level}")
        i.add_incoming(_i64(0), pre)
        self.idx[level] = i
        self.loops(rest, extents, body)
        del self.idx[level]
        nxt = b.add(i, _i64(1), flags=("nuw", "nsw"))
        i.add_incoming(nxt, b.block)
        b.cbranch(b.icmp_unsigned("<", nxt, _i64(n)), loop, after)
        b.position_at_end(after)

    # -- memory ---------------------------------------------------------------------------------
    def address(self, buf, view: View, base=None) -> ir.Value:
        b = self.b
        off = None
        for level, stride in enumerate(view.strides):
            if stride == 0:
                continue
            i = self.idx[level]   # KeyError here would be a scheduling bug
            term = i if stride == 1 else b.mul(i, _i64(stride), flags=("nuw", "nsw"))
            off = term if off is None else b.add(off, term, flags=("nuw", "nsw"))
        if view.offset:
            off = _i64(view.offset) if off is None else b.add(off, _i64(view.offset),
                                                                flags=("nuw", "nsw"))
        ptr = self.ptr[id(buf)] if base is None else base
        if off is None:
            return ptr
        return b.gep(ptr, [off], inbounds=True)

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
            if isinstance(node, Load):
                # Equal loads from different expressions (e.g. after merging kernels) are one.
                key = (id(node.buffer), node.view)
                val = memo.get(key)
                if val is None:
                    val = memo[key] = self.load(node.buffer, node.view)
            elif isinstance(node, Const):
                val = ScalarEmitter(self.b).const(node.value, node.dtype)
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
    """Sums in float64 (for float32/float64) or int64. Only these adds carry `reassoc`, so the
    vectorizer may reorder them; f32 data summed in f64 keeps the reordering error ~1e-16."""

    def __init__(self, kf: _Function, r: Reduce):
        self.kf, self.r = kf, r
        self.dtype = accumulator_dtype(r.dtype)
        self.ty = llvm_type(self.dtype)
        self.slot = None

    def init(self) -> ir.Constant:
        # numpy starts sums from +0.0 (so a sum of -0.0s is +0.0); match it.
        return ir.Constant(self.ty, 0.0 if self.dtype.is_floating_point else 0)

    def widen(self, x: Scalar) -> ir.Value:
        return ScalarEmitter(self.kf.b, "sum").convert(x, self.dtype).value

    def add(self, a: ir.Value, b: ir.Value) -> ir.Value:
        if self.dtype.is_floating_point:
            return self.kf.b.fadd(a, b, flags=("reassoc",))
        return self.kf.b.add(a, b)

    def result(self, acc: ir.Value) -> Scalar:
        return ScalarEmitter(self.kf.b, "sum").convert(Scalar(acc, self.dtype), self.r.dtype)


def _varies(node, reduced_levels) -> bool:
    return any(isinstance(n, Load) and any(n.view.strides[lv] for lv in reduced_levels)
               for n in walk(node, into_reduce=False))


def _emit_loop_kernel(module: ir.Module, k: LoopKernel, name: str) -> list:
    nest = k.nest
    stores = nest.stores
    buffers = []
    for buf in ([s.buffer for s in stores] + [ld.buffer for s in stores for ld in
                                              walk(s.node) if isinstance(ld, Load)]
                + list(nest.scratch.values())):
        if all(buf is not x for x in buffers):
            buffers.append(buf)
    kf = _Function(module, name, buffers)
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

    def point(add_to):
        """Body at one domain point: point stores, then feed every reduction."""
        memo: dict = {}
        for s in inner:
            kf.store(s.buffer, s.view, kf.evaluate(s.node, memo, {}))
        for r in reds:
            add_to(accs[id(r)], kf.evaluate(r.arg, memo, {}))

    def epilogue(values):
        memo: dict = {}
        for s in outer:
            kf.store(s.buffer, s.view, kf.evaluate(s.node, memo, values))

    if nest.strategy == "map":
        def body():
            # Reduce nodes here only sum over size-1 axes: the sum of one element.
            values = {}

            def single(a, x):
                values[id(a.r)] = a.result(a.add(a.init(), a.widen(x)))
            point(single)
            epilogue(values)
        kf.loops(levels, extents, body)
        kf.finish()
        return buffers

    def register_add(a, x):
        b.store(a.add(b.load(a.slot), a.widen(x)), a.slot)

    def start_registers():
        for a in accs.values():
            if a.slot is None:
                a.slot = kf.allocas.alloca(a.ty)   # promoted to a register by SROA
            b.store(a.init(), a.slot)

    if nest.strategy == "register":
        # Summed levels are innermost: accumulate in a register per output point.
        first = reduced_levels[0]

        def outer_body():
            start_registers()
            kf.loops(levels[first:], extents, lambda: point(register_add))
            epilogue({id(a.r): a.result(b.load(a.slot)) for a in accs.values()})
        kf.loops(levels[:first], extents, outer_body)
        kf.finish()
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

    def scratch_init():
        for a in accs.values():
            buf = nest.scratch[id(a.r)]
            b.store(a.init(), kf.address(buf, sview))
    kf.loops(kept_levels, extents, scratch_init)

    def scratch_add(a, value: ir.Value):
        p = kf.address(nest.scratch[id(a.r)], sview)
        b.store(a.add(b.load(p), value), p)

    def main_body():
        if suffix:
            start_registers()
            kf.loops(suffix, extents, lambda: point(register_add))
            for a in accs.values():
                scratch_add(a, b.load(a.slot))
        else:
            point(lambda a, x: scratch_add(a, a.widen(x)))
    kf.loops(body_levels, extents, main_body)

    def final():
        values = {id(a.r): a.result(b.load(kf.address(nest.scratch[id(a.r)], sview)))
                  for a in accs.values()}
        epilogue(values)
    kf.loops(kept_levels, extents, final)
    kf.finish()
    return buffers


# -- matmul ---------------------------------------------------------------------------------------
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _emit_matmul(module: ir.Module, k: MatmulKernel, name: str, gemm) -> list:
    a, b_, out = k.a, k.b, k.out
    buffers = [out] + [x for i, x in enumerate([a.buffer, b_.buffer])
                       if x is not out and (i == 0 or x is not a.buffer)]
    kf = _Function(module, name, buffers)
    b = kf.b
    (m, kdim), (_, n) = a.shape, b_.shape
    ty = llvm_type(out.dtype)
    zero = ScalarEmitter(b).const(0, out.dtype)
    cview = View.contiguous(out.shape)
    if k.impl == "blas" and kdim > 0:
        g = gemm[out.dtype.name]
        it = ir.IntType(g.int_bits)
        ptr = ty.as_pointer()
        fnty = ir.FunctionType(VOID, [I32, I32, I32, it, it, it, ty, ptr, it, ptr, it, ty, ptr,
                                      it])
        fn = module.globals.get(g.symbol) or ir.Function(module, fnty, g.symbol)
        (ta, lda), (tb, ldb) = blas_layout(a.view), blas_layout(b_.view)
        args = [ir.Constant(I32, _ROW_MAJOR),
                ir.Constant(I32, _NO_TRANS if ta == "N" else _TRANS),
                ir.Constant(I32, _NO_TRANS if tb == "N" else _TRANS),
                ir.Constant(it, m), ir.Constant(it, n), ir.Constant(it, kdim),
                ir.Constant(ty, 1.0), kf.address(a.buffer, View((), (), a.view.offset)),
                ir.Constant(it, lda), kf.address(b_.buffer, View((), (), b_.view.offset)),
                ir.Constant(it, ldb), ir.Constant(ty, 0.0), kf.ptr[id(out)],
                ir.Constant(it, max(n, 1))]
        b.call(fn, args)
        kf.finish()
        return buffers
    # i-k-j loop nest: the inner loop runs along rows of B and C, so it vectorizes.
    e = ScalarEmitter(b, "matmul")
    kf.loops([0, 1], (m, n), lambda: kf.store(out, cview, zero))
    if kdim == 0:
        kf.finish()
        return buffers
    # levels: 0 = i, 1 = k, 2 = j
    av = View((m, kdim, n), (a.view.strides[0], a.view.strides[1], 0), a.view.offset)
    bv = View((m, kdim, n), (0, b_.view.strides[0], b_.view.strides[1]), b_.view.offset)
    cv = View((m, kdim, n), (n, 0, 1))

    def body():
        prod = e.mul(kf.load(a.buffer, av), kf.load(b_.buffer, bv))
        kf.store(out, cv, e.add(kf.load(out, cv), prod))
    kf.loops([0, 1, 2], (m, kdim, n), body)
    kf.finish()
    return buffers


# -- module -------------------------------------------------------------------------------------
def emit_module(sched: Schedule, entry: str, target, data_offset: int | None,
                gemm: dict) -> ir.Module:
    module = ir.Module(name=sched.fn.name)
    module.triple = target.triple
    module.data_layout = target.data_layout
    calls = []
    for k in sched.kernels:
        name = f"tg.{sched.fn.name}.{k.name}"
        if isinstance(k, MatmulKernel):
            buffers = _emit_matmul(module, k, name, gemm)
        else:
            buffers = _emit_loop_kernel(module, k, name)
        calls.append((module.globals[name], buffers))

    outputs = [o[0] for o in sched.outputs if isinstance(o, tuple)]
    nargs = len(sched.inputs) + len(outputs) + (1 if sched.arena_bytes else 0)
    fn = ir.Function(module, ir.FunctionType(VOID, [I8P] * nargs), entry)
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def data(arg):
        if data_offset is None:
            return arg
        slot = b.bitcast(b.gep(arg, [_i64(data_offset)], inbounds=True), I8P.as_pointer())
        return b.load(slot, align=8)

    base = {}
    args = iter(fn.args)
    for buf in list(sched.inputs) + outputs:
        base[id(buf)] = data(next(args))
    arena = data(next(args)) if sched.arena_bytes else None
    for buf in sched.temps:
        # Without an arena every temporary is empty (size 0): its loops never touch it.
        base[id(buf)] = (b.gep(arena, [_i64(buf.offset)], inbounds=True) if arena is not None
                         else ir.Constant(I8P, None))
    for kfn, buffers in calls:
        b.call(kfn, [b.bitcast(base[id(buf)], memory_type(buf.dtype).as_pointer())
                     for buf in buffers])
    b.ret_void()
    return module
