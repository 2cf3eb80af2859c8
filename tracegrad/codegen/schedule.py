"""The scheduler: turns a decomposed Function into buffers and a list of kernels.

Every Var becomes an expression node (see `expr.py`). Nothing is computed where it is defined:
an elementwise op just builds a bigger expression, a layout op rewrites leaf views, a sum wraps
its argument in a Reduce node. A value gets a buffer (is *materialized*, which creates the
kernel that stores it) only when it must:

- it is a function result;
- it has more than one consumer, is not a plain leaf, and is not a small elementwise
  expression reading at most one array of its size (`_recomputed`: those are recomputed, since
  storing costs more memory traffic than re-reading);
- it feeds a matmul and is not already a strided view the matmul can take;
- it contains a reduction and is used other than as a same-shape elementwise operand (a
  broadcast, a layout op, another reduction), or is mixed with a reduction of another shape;
- a reshape of it cannot be expressed as a view of its leaves (numpy's no-copy rule).

So `3*(x+2)**2` is one store of one expression, and `mean(...)` is one reduction kernel with
the elementwise prologue inside the Reduce node and the division by n as its epilogue.

`fuse.py` then merges kernels over the same domain, and `plan` picks each loop nest's order
and reduction strategy.
"""
from __future__ import annotations

import math

from dataclasses import dataclass, field

from ..ir import OPS, Function, Literal, Var, bool_, float32, float64, int64
from . import gather
from .expr import (Apply, Const, Gather, Index, Load, Node, Reduce, View,
                   contiguous_strides, indexes, loads, reductions, to_domain, transform, walk)


class Buffer:
    """A dense row-major array: a parameter, a result, or a temporary in the per-call arena."""

    __slots__ = ("name", "shape", "dtype", "kind", "index", "offset")

    def __init__(self, name: str, shape, dtype, kind: str, index: int = -1):
        self.name, self.shape, self.dtype, self.kind = name, tuple(shape), dtype, kind
        self.index = index    # parameter / result position for inputs and outputs
        self.offset = 0       # byte offset in the arena for temps

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __repr__(self):
        return f"{self.name}: {self.dtype.short}[{','.join(map(str, self.shape))}]"


@dataclass(eq=False)
class Store:
    buffer: Buffer
    view: View         # where each point of the kernel domain goes in `buffer`
    node: Node


@dataclass
class LoopNest:
    """A kernel's loops after planning: extents outer to inner, which levels are reduced."""

    extents: tuple
    reduced: tuple
    stores: list       # Stores re-expressed over the loop levels
    strategy: str      # "map", "register" (reduced levels innermost) or "scratch"
    scratch: dict = field(default_factory=dict)   # id(Reduce) -> accumulator Buffers
    # On two threads (see `plan_threads`) the outermost level is cut into `chunks` ranges
    # the threads take in turn. "rows": that level is kept (each range writes its own
    # results); "partial": it is summed, each range into its own accumulators (`partials`,
    # or scratch buffers with a leading dim of `chunks`), combined in order afterwards, so
    # the result does not depend on which thread took which range.
    split: str = ""
    chunks: int = 0    # how many ranges the outermost level is cut into
    partials: dict = field(default_factory=dict)  # id(Reduce) -> Buffers of shape (chunks,)
    # "partial" scratch kernels: float32 sums whose per-range rows are float32 (few rows per
    # range), id(Reduce) -> the float64 row their ranges are added into
    totals: dict = field(default_factory=dict)


@dataclass(eq=False)
class LoopKernel:
    """One loop nest over `domain`, reducing over `axes`, writing every Store."""

    name: str
    domain: tuple
    axes: tuple
    stores: list
    nest: LoopNest | None = None

    @property
    def kind(self) -> str:
        return "reduce" if self.axes else "map"

    def reads(self) -> set:
        return {ld.buffer for s in self.stores for ld in loads(s.node)}

    def writes(self) -> set:
        return {s.buffer for s in self.stores}

    def __repr__(self):
        head = f"{self.name}: {self.kind}[{','.join(map(str, self.domain))}]"
        if self.axes:
            head += f" over {self.axes}"
        if self.nest is not None:
            head += f" as {self.nest.strategy} loops {list(self.nest.extents)}"
        body = "; ".join(f"{s.buffer.name} <- {s.node!r}" for s in self.stores)
        return f"<{head}: {body}>"


@dataclass(eq=False)
class MatmulKernel:
    """out = a @ b with a, b strided (*batch, m, k) and (*batch, k, n) views (batch dims may
    be empty; one gemm per batch entry); `impl` is "blas" or "loops"."""

    name: str
    a: Load
    b: Load
    out: Buffer
    impl: str
    split: str = ""    # "rows": the threads multiply ranges of rows
    chunks: int = 0

    kind = "matmul"

    def reads(self) -> set:
        return {self.a.buffer, self.b.buffer}

    def writes(self) -> set:
        return {self.out}

    def __repr__(self):
        batch = "".join(f"{n}x" for n in self.a.shape[:-2])
        return (f"<{self.name}: matmul[{batch}{self.a.shape[-2]}x{self.a.shape[-1]} @ "
                f"{self.b.shape[-2]}x{self.b.shape[-1]}] via {self.impl}: "
                f"{self.out.name} <- {self.a!r} @ {self.b!r}>")


@dataclass(eq=False)
class ScanKernel:
    """out = the running `op` ("cumsum" or "cumprod") of `node` along `dim` (from the end when
    `reverse`); `node` is an expression over out's shape (the scan's fused prologue)."""

    name: str
    op: str
    node: Node
    dim: int
    reverse: bool
    out: Buffer

    kind = "scan"

    def reads(self) -> set:
        return {ld.buffer for ld in loads(self.node)}

    def writes(self) -> set:
        return {self.out}

    def __repr__(self):
        rev = " reversed" if self.reverse else ""
        return (f"<{self.name}: {self.op}[{','.join(map(str, self.out.shape))}] along "
                f"{self.dim}{rev}: {self.out.name} <- {self.node!r}>")


@dataclass
class Schedule:
    fn: Function
    inputs: list          # Buffer per parameter
    outputs: list         # per result: (Buffer, shape) or a Literal
    temps: list           # arena Buffers (temporaries and scratch accumulators)
    kernels: list
    checks: list = field(default_factory=list)   # (kind, dim, size) per index check
    status: "Buffer | None" = None                 # 2 int64 per check: flag, offending index
    groups: list = field(default_factory=list)     # kernels in run order (`group_ranges`)

    @property
    def sync_words(self) -> int:
        """0, or when some kernels split across two threads the int64 words of the state the
        threads share (the entry then also takes it and the thread's part; `emit._Parallel`)."""
        n = sum(1 for g in self.groups
                if getattr(g[0], "split", "") or getattr(getattr(g[0], "nest", None), "split", ""))
        return 2 + n if n else 0

    @property
    def arena_bytes(self) -> int:
        return max((b.offset + b.nbytes for b in self.temps), default=0)


def blas_layout(view: View):
    """("N"|"T", leading dimension) if a BLAS routine can read the matrices of this view (its
    last two dims), else None."""
    (m, n), (s0, s1) = view.shape[-2:], view.strides[-2:]
    if n == 1 or s1 == 1:
        if m == 1 or s0 >= max(n, 1):
            return "N", max(s0 if m > 1 else n, 1)
    if m == 1 or s0 == 1:
        if n == 1 or s1 >= max(m, 1):
            return "T", max(s1 if n > 1 else m, 1)
    return None


def _is_leaf(node: Node) -> bool:
    return isinstance(node, (Load, Const, Index)) or (isinstance(node, Apply) and not node.args)


def _split_reduction(shape, dims) -> bool:
    """Whether a reduction over `dims` runs as a row pass and then a pass over the rows: it
    reduces the last dim and at least one more, both longer than one."""
    last = len(shape) - 1
    return (last in dims and shape[last] > 1
            and math.prod(shape[d] for d in dims if d != last) > 1)


RECOMPUTE_MAX_NODES = 32


def _recomputed(node: Node) -> bool:
    """Whether a value with several consumers is better recomputed in each than stored: an
    elementwise expression (no reduction, no gather) of at most `RECOMPUTE_MAX_NODES` nodes
    that reads at most one array of its own size. Storing it costs a write and a read of its
    size per consumer; recomputing re-reads that one array (and nothing when the consumers
    end up in one loop nest, where the emitter computes it once). `x - mean(x)` in a layer
    norm is read by three later passes."""
    if node.rsig is not None or not node.shape:
        return False
    size, count, big = math.prod(node.shape), 0, 0
    for n in walk(node):
        count += 1
        if isinstance(n, (Reduce, Gather)) or count > RECOMPUTE_MAX_NODES:
            return False
        if isinstance(n, Load):
            big += n.view.distinct * 8 > size
    return big <= 1


class _Scheduler:
    def __init__(self, fn: Function, blas_dtypes):
        self.fn = fn
        self.blas_dtypes = blas_dtypes
        self.value: dict[int, Node] = {}
        self.kernels: list = []
        self.temps: list[Buffer] = []
        self.checks: list = []     # index checks: (kind, dim, size), see gather.py
        self.status = None         # their status Buffer
        self.uses: dict[int, int] = {}
        for eqn in fn.eqns:
            for v in {id(a): a for a in eqn.inputs if isinstance(a, Var)}.values():
                self.uses[id(v)] = self.uses.get(id(v), 0) + 1
        for r in fn.results:
            if isinstance(r, Var):
                self.uses[id(r)] = self.uses.get(id(r), 0) + 1

    # -- buffers and kernels ------------------------------------------------------------------
    def temp(self, shape, dtype) -> Buffer:
        b = Buffer(f"t{len(self.temps)}", shape, dtype, "temp")
        self.temps.append(b)
        return b

    def kernel_name(self) -> str:
        return f"k{len(self.kernels)}"

    def store_kernel(self, buf: Buffer, node: Node) -> None:
        """Create the loop kernel that writes `node` into `buf`."""
        out = View.contiguous(buf.shape)
        if node.rsig is None:
            k = LoopKernel(self.kernel_name(), node.shape, (), [Store(buf, out, node)])
        else:
            domain, dims, keepdim = node.rsig
            k = LoopKernel(self.kernel_name(), domain, dims,
                           [Store(buf, out.unreduce(domain, dims, keepdim), to_domain(node))])
        self.kernels.append(k)

    def materialize(self, v: Var) -> Load:
        node = self.value[id(v)]
        if (isinstance(node, Load) and node.view.is_contiguous()
                and node.view.size == node.buffer.size):
            return node
        buf = self.temp(v.shape, v.dtype)
        self.store_kernel(buf, node)
        self.value[id(v)] = leaf = Load(buf, View.contiguous(v.shape))
        return leaf

    def node(self, a) -> Node:
        if isinstance(a, Literal):
            return Const(a.value, a.dtype, ())
        return self.value[id(a)]

    # -- equations ----------------------------------------------------------------------------
    def run(self) -> Schedule:
        inputs = []
        for i, p in enumerate(self.fn.params):
            buf = Buffer(p.hint or f"arg{i}", p.shape, p.dtype, "input", i)
            inputs.append(buf)
            self.value[id(p)] = Load(buf, View.contiguous(p.shape))
        for eqn in self.fn.eqns:
            v = eqn.outputs[0]
            kind = eqn.op.kind
            if kind in ("elementwise", "source"):
                node = self.elementwise(eqn, v)
            elif kind == "reduce":
                node = self.reduce(eqn, v)
            elif kind == "layout":
                node = self.layout(eqn, v)
            elif kind == "index":
                node = self.index(eqn, v)
            elif kind == "scan":
                node = self.scan(eqn, v)
            elif kind in gather.KINDS:   # shape and indexing: loads/stores at computed indices
                node = gather.lower(self, eqn, v)
            else:
                node = self.matmul(eqn, v)
            self.value[id(v)] = node
            if self.uses.get(id(v), 0) > 1 and not _is_leaf(node) and not _recomputed(node):
                self.materialize(v)
        outputs = self.results()
        return Schedule(self.fn, inputs, outputs, self.temps, self.kernels, self.checks,
                        self.status)

    def elementwise(self, eqn, v: Var) -> Node:
        atoms = list(eqn.inputs)
        # A reduction result fuses as an epilogue only into same-shape elementwise ops that
        # mix no other reduction shape; otherwise it gets a buffer first.
        sig = None
        for a in atoms:
            n = self.node(a)
            if n.rsig is None:
                continue
            if n.shape != v.shape or (sig is not None and n.rsig != sig):
                self.materialize(a)
            else:
                sig = n.rsig
        # One memo, so an operand used twice is broadcast (and computed) once. It is keyed by
        # id(): `nodes` keeps every root alive (literals get fresh Const nodes) while it is used.
        nodes = [self.node(a) for a in atoms]
        args, memo = [], {}
        for n in nodes:
            if n.shape != v.shape:
                n = transform(n, lambda view: view.broadcast_to(v.shape), v.shape, memo=memo)
            args.append(n)
        return Apply(eqn.op, args, eqn.attrs, v.shape, v.dtype)

    def reduce(self, eqn, v: Var) -> Node:
        (x,) = eqn.inputs
        dims = tuple(sorted(set(eqn.attrs["dims"])))
        keepdim = eqn.attrs["keepdim"]
        kind = eqn.op.name
        arg = self.node(x)
        if not dims or not x.shape:
            # Nothing is reduced: the only index is 0; a value reduction is the identity
            # (with int/bool widened to int64 for sum and prod).
            if kind in ("argmax", "argmin"):
                return Const(0, v.dtype, v.shape)
            if arg.dtype is v.dtype and arg.shape == v.shape:
                return arg
            return Apply(OPS["convert"], [arg], {"dtype": v.dtype}, v.shape, v.dtype)
        if arg.rsig is not None:
            arg = self.materialize(x)
        if kind in ("sum", "prod", "amax", "amin") and _split_reduction(x.shape, dims):
            # Rows first, into a small buffer (float32 sums kept in float64), then the rest:
            # the row pass can share a loop nest with other row reductions (a layer norm's
            # loss and its gradient's row sums), which a reduction over everything cannot.
            last = len(x.shape) - 1
            part_dtype = accumulator_dtype(v.dtype) if kind in ("sum", "prod") else v.dtype
            part = self.temp(x.shape[:-1] + (1,), part_dtype)
            self.store_kernel(part, Reduce(arg, (last,), True, part.shape, part_dtype, kind))
            arg = Load(part, View.contiguous(part.shape))
        index = None
        if kind in ("argmax", "argmin"):
            # The flat row-major position within the reduced dims.
            strides = dict(zip(dims, contiguous_strides([x.shape[d] for d in dims])))
            index = Index(View(x.shape, tuple(strides.get(d, 0) for d in range(len(x.shape)))))
        return Reduce(arg, dims, keepdim, v.shape, v.dtype, kind, index)

    def index(self, eqn, v: Var) -> Node:
        # iota: position along `dim`, computed from the loop indices.
        dim = eqn.attrs["dim"]
        return Index(View(v.shape, tuple(int(d == dim) for d in range(len(v.shape)))))

    def scan(self, eqn, v: Var) -> Node:
        (x,) = eqn.inputs
        arg = self.node(x)
        if not v.shape:   # a 0-d scan is the identity (int/bool widened to int64)
            if arg.dtype is v.dtype:
                return arg
            return Apply(OPS["convert"], [arg], {"dtype": v.dtype}, v.shape, v.dtype)
        if arg.rsig is not None:
            arg = self.materialize(x)
        out = self.temp(v.shape, v.dtype)
        self.kernels.append(ScanKernel(self.kernel_name(), eqn.op.name, arg, eqn.attrs["dim"],
                                       eqn.attrs.get("reverse", False), out))
        return Load(out, View.contiguous(v.shape))

    def layout(self, eqn, v: Var) -> Node:
        (x,) = eqn.inputs
        op, attrs = eqn.op, eqn.attrs

        def fn(view):
            return op.view(view, **attrs)

        arg = self.node(x)
        if arg.rsig is not None:
            arg = self.materialize(x)
        out = transform(arg, fn, v.shape)
        if out is None:  # some leaf can't be reshaped without a copy
            out = transform(self.materialize(x), fn, v.shape)
        return out

    def matmul(self, eqn, v: Var) -> Node:
        blas = v.dtype in self.blas_dtypes
        operands = []
        for a in eqn.inputs:
            n = self.node(a)
            if not isinstance(n, Load) or (blas and blas_layout(n.view) is None):
                n = self.materialize(a)
            operands.append(n)
        out = self.temp(v.shape, v.dtype)
        self.kernels.append(MatmulKernel(self.kernel_name(), operands[0], operands[1], out,
                                         "blas" if blas else "loops"))
        return Load(out, View.contiguous(v.shape))

    def results(self) -> list:
        outputs = []
        claimed: set[int] = set()
        for i, r in enumerate(self.fn.results):
            if isinstance(r, Literal):
                outputs.append(r)
                continue
            node = self.value[id(r)]
            buf = node.buffer if isinstance(node, Load) else None
            if (buf is not None and buf.kind == "temp" and id(buf) not in claimed
                    and node.view.is_contiguous() and node.view.offset == 0
                    and node.view.size == buf.size):
                # The value already sits densely in a temporary: hand that buffer out.
                buf.kind, buf.index = "output", i
                self.temps.remove(buf)
            else:
                buf = Buffer(f"out{i}", r.shape, r.dtype, "output", i)
                self.store_kernel(buf, node)
            claimed.add(id(buf))
            outputs.append((buf, r.shape))
        return outputs


def schedule(fn: Function, blas_dtypes=()) -> Schedule:
    """Buffers and kernels for a decomposed function (see the module docstring)."""
    from .fuse import fuse

    sched = _Scheduler(fn, frozenset(blas_dtypes)).run()
    fuse(sched)
    sched.kernels = [k for k in sched.kernels if plan(k, sched)]
    for k in sched.kernels:
        plan_threads(k, sched)
    group_ranges(sched)
    offset = 0
    for b in sched.temps:   # one arena, every buffer 64-byte aligned
        b.offset = offset
        offset += (b.nbytes + 63) // 64 * 64
    return sched


# -- loop planning ----------------------------------------------------------------------------
def accumulator_dtype(dtype):
    """Sums and products accumulate float32 in float64 and int/bool in int64."""
    return float64 if dtype.is_floating_point else int64


def accumulator_dtypes(r: Reduce) -> tuple:
    """The state a reduction carries: one accumulator, or (value, index) for argmax/argmin."""
    if r.kind in ("sum", "prod"):
        return (accumulator_dtype(r.dtype),)
    value = int64 if r.arg.dtype is bool_ else r.arg.dtype   # bools compare as 0/1
    return (value,) if r.kind in ("amax", "amin") else (value, int64)


IDENTITY = {"sum": 0, "prod": 1}   # what an empty reduction gives (the others have none)


def plan(k, sched: Schedule) -> bool:
    """Choose loop order, coalesce dims and pick the reduction strategy; False if the kernel
    writes nothing (an empty domain)."""
    if isinstance(k, (MatmulKernel, ScanKernel, gather.ScatterKernel)):
        return k.out.size > 0
    domain, axes = k.domain, set(k.axes)
    stores = k.stores
    if any(domain[a] == 0 for a in range(len(domain)) if a not in axes):
        return False
    if any(domain[a] == 0 for a in axes):
        # An empty sum is 0 (a product 1): drop the reduced axes and the reductions with them.
        keep = [a for a in range(len(domain)) if a not in axes]
        shape = tuple(domain[a] for a in keep)

        def drop(v):
            return View(shape, tuple(v.strides[a] for a in keep), v.offset)

        memo: dict = {}
        # Stores that range over the empty axes (intermediates of the reduced values) write
        # nothing: keeping them as point stores would write past a zero-size buffer.
        stores = [Store(s.buffer, drop(s.view),
                        transform(s.node, drop, shape, memo=memo,
                                  reduce_fn=lambda r, arg, index: Const(IDENTITY[r.kind],
                                                                        r.dtype, shape)))
                  for s in stores if s.buffer.size > 0]
        domain, axes = shape, set()

    weighted = [(s.view, s.buffer.dtype.itemsize) for s in stores]
    weighted += [(ld.view, ld.dtype.itemsize) for s in stores for ld in loads(s.node)]
    # Indexes read no memory: they don't order loops, but must stay right when dims coalesce.
    weighted += [(ix.view, 0) for s in stores for ix in indexes(s.node)]
    live = [a for a in range(len(domain)) if domain[a] != 1]
    # Loop order: largest byte strides outermost, so the innermost loop walks memory densely
    # (a sum over leading dims then accumulates into output rows instead of striding).
    order = sorted(live, key=lambda a: -sum(abs(v.strides[a]) * w for v, w in weighted))
    groups: list[list[int]] = []
    for a in order:
        if groups:
            g = groups[-1]
            inner = g[-1]
            if ((inner in axes) == (a in axes)
                    and all(v.strides[inner] == v.strides[a] * domain[a] for v, _ in weighted)):
                g.append(a)
                continue
        groups.append([a])
    extents = tuple(math.prod(domain[a] for a in g) for g in groups)
    reduced = tuple(g[0] in axes for g in groups)

    def regroup(v):
        return View(extents, tuple(v.strides[g[-1]] for g in groups), v.offset)

    memo = {}
    new_stores = [Store(s.buffer, regroup(s.view),
                        transform(s.node, regroup, extents, into_reduce=True, memo=memo,
                                  reduce_fn=lambda r, arg, index: r.rebuilt(arg, extents,
                                                                            index)))
                  for s in stores]
    if not any(reduced):
        strategy = "map"
    elif all(reduced[reduced.index(True):]):
        strategy = "register"
    else:
        strategy = "scratch"
    nest = LoopNest(extents, reduced, new_stores, strategy)
    if strategy == "scratch":
        out_extents = tuple(e for e, r in zip(extents, reduced) if not r)
        for s in new_stores:
            for r in reductions(s.node):
                if id(r) not in nest.scratch:
                    bufs = []
                    for dtype in accumulator_dtypes(r):
                        bufs.append(Buffer(f"acc{len(sched.temps)}", out_extents, dtype, "temp"))
                        sched.temps.append(bufs[-1])
                    nest.scratch[id(r)] = bufs
    k.nest = nest
    return True


def scratch_view(nest: LoopNest) -> View:
    """The accumulator layout over the loop levels: dense over the kept levels, 0 on summed."""
    kept = tuple(e for e, r in zip(nest.extents, nest.reduced) if not r)
    it = iter(contiguous_strides(kept))
    return View(nest.extents, tuple(0 if r else next(it) for r in nest.reduced))


# -- two threads --------------------------------------------------------------------------------
# Below this much work a kernel runs on one thread: waking the worker and meeting it at a
# barrier (10-40 us) costs more than it saves. Work is elements times (1 + transcendental
# functions per element); a summed outermost level needs twice as much. Measured with
# bench/bench_threads.py: two threads win from about 512K elements for a memory-bound map,
# 128K for tanh(x)*sigmoid(x), 1M for a sum.
PARALLEL_MIN_ELEMENTS = 1 << 19
PARALLEL_MIN_MACS = 1 << 22   # integer matrix products (loop nests)
TRANSCENDENTAL = frozenset({"exp", "log", "tanh", "sigmoid", "sin", "cos", "tan", "erf", "erfc",
                            "log1p", "expm1", "exp2", "log2", "log10", "asin", "acos", "atan",
                            "atan2", "sinh", "cosh", "pow"})
# Ranges: at least enough to balance two threads, each touching about RANGE_BYTES (so a group's
# later members find a range's data in the 2 MB L2), at most MAX_CHUNKS (every range adds an
# accumulator row to combine). On W5, 16 to 33 ranges beat 133 or 256 (the combining costs).
MIN_CHUNKS, MAX_CHUNKS, RANGE_BYTES = 16, 64, 1 << 22
MATMUL_CHUNKS = 4      # row blocks per integer matrix product
SCRATCH_LIMIT = 1 << 23   # bytes of per-range accumulator rows a "partial" kernel may use


def plan_threads(k, sched: Schedule) -> None:
    """Decide whether and how kernel `k` splits across two threads (see `LoopNest.split`);
    `group_ranges` then picks the ranges and `_allocate_partials` their accumulators."""
    if isinstance(k, MatmulKernel):
        # BLAS runs its own threads (as many as numpy's are set to); splitting its rows too
        # would put four threads on two cores.
        if k.impl == "loops":
            (m, kdim), n = k.a.shape[-2:], k.b.shape[-1]
            if not k.out.shape[:-2] and m >= 2 and m * n * kdim >= PARALLEL_MIN_MACS:
                k.split, k.chunks = "rows", min(MATMUL_CHUNKS, m)
        return
    nest = getattr(k, "nest", None)
    if nest is None or not nest.extents or nest.extents[0] < 2:
        return
    heavy = sum(1 for s in nest.stores for n in walk(s.node)
                if isinstance(n, Apply) and n.op.name in TRANSCENDENTAL)
    work = math.prod(nest.extents) * (1 + heavy)
    if work < PARALLEL_MIN_ELEMENTS * (2 if nest.reduced[0] else 1):
        return
    if not nest.reduced[0]:
        nest.split = "rows"
        return
    reds = [r for s in nest.stores for r in reductions(s.node)]
    if any(r.kind in ("argmax", "argmin") for r in reds):
        return
    nest.split = "partial"


def _split_nest(k):
    nest = getattr(k, "nest", None)
    return nest if nest is not None and nest.split else None


def _row_bytes(nest: LoopNest) -> int:
    """Bytes a kernel touches per index of its outermost level (rows read in full)."""
    seen, total = set(), 0
    for s in nest.stores:
        for view, buf in [(s.view, s.buffer)] + [(ld.view, ld.buffer) for ld in loads(s.node)]:
            if id(buf) not in seen and view.strides[0]:
                seen.add(id(buf))
                total += buf.nbytes // nest.extents[0]
    return max(total, 1)


def _row_local(member, c) -> bool:
    """Whether kernel `c` reads what `member` (of a range group) writes only at the same index
    of the outermost level, so running both range by range is the same as one after the
    other. A reduction a "partial" kernel finishes after every range is never row-local."""
    mn = member.nest
    written = {id(s.buffer): s for s in mn.stores}
    for s in c.nest.stores:
        for ld in loads(s.node):
            st = written.get(id(ld.buffer))
            if st is None:
                continue
            if isinstance(ld, Gather) or (mn.split == "partial" and reductions(st.node)):
                return False
            s0 = st.view.strides[0]
            if (ld.view.strides[0] != s0 or s0 <= 0 or ld.view.offset or st.view.offset
                    or ld.buffer.size != mn.extents[0] * s0):
                return False
    return True


def group_ranges(sched: Schedule) -> None:
    """Order kernels into `sched.groups`: a split kernel and the later split kernels over the
    same outermost extent that depend on it only row by row run range by range together
    (each thread runs every member on one range before taking the next, so a range's data
    is still in cache for the next member: a layer norm's four passes read memory once);
    kernels that cannot join run after the group. Then each group's range count is chosen so
    that a range's data fits in cache."""
    pending, groups = list(sched.kernels), []
    while pending:
        k = pending.pop(0)
        nest = _split_nest(k)
        if nest is None:
            groups.append([k])
            continue
        group, deferred = [k], []
        for c in pending:
            cn = _split_nest(c)
            writes_deferred = {id(b) for d in deferred for b in d.writes()}
            if (cn is not None and cn.extents[0] == nest.extents[0]
                    and not any(id(b) in writes_deferred for b in c.reads())
                    and all(_row_local(m, c) for m in group)):
                group.append(c)
            else:
                deferred.append(c)
        groups.append(group)
        pending = deferred
    final = []
    for g in groups:
        if isinstance(g[0], MatmulKernel) or _split_nest(g[0]) is None:
            final.append(g)
            continue
        extent = g[0].nest.extents[0]
        rows = max(1, RANGE_BYTES // sum(_row_bytes(k.nest) for k in g))
        chunks = min(extent, MAX_CHUNKS, max(MIN_CHUNKS, -(-extent // rows)))
        if not all(_scratch_fits(k.nest, chunks) for k in g):
            # accumulator rows too large: every member runs alone, in order, with few ranges
            chunks = min(extent, MIN_CHUNKS)
            for k in g:
                if not _scratch_fits(k.nest, chunks):
                    k.nest.split = ""
            final += [[k] for k in g]
        else:
            final.append(g)
        for k in g:
            if k.nest.split:
                k.nest.chunks = chunks
                _allocate_partials(k, sched)
    sched.groups = final
    sched.kernels = [k for g in final for k in g]


def _scratch_fits(nest: LoopNest, chunks: int) -> bool:
    return nest.split != "partial" or nest.strategy != "scratch" or sum(
        buf.nbytes for bufs in nest.scratch.values() for buf in bufs) * chunks <= SCRATCH_LIMIT


def _allocate_partials(k, sched: Schedule) -> None:
    """Per-range accumulators of a "partial" kernel (`_scratch_fits` said they fit)."""
    nest = k.nest
    if nest.split != "partial":
        return
    chunks = nest.chunks
    if nest.strategy == "scratch":
        kept = tuple(e for e, r in zip(nest.extents, nest.reduced) if not r)
        narrow_ok = not nest.reduced[-1]   # every summed level is outside the kept ones
        reds = {id(r): r for s in nest.stores for r in reductions(s.node)}
        for rid, bufs in nest.scratch.items():
            r = reds[rid]
            for buf in bufs:   # one accumulator row per range
                buf.shape = (chunks,) + buf.shape
            if (narrow_ok and r.kind == "sum" and r.arg.dtype is float32
                    and bufs[0].dtype is float64):
                # A range sums few rows: float32 there (half the traffic and work of float64
                # rows), float64 when the ranges are added up.
                bufs[0].dtype = float32
                total = Buffer(f"acc{len(sched.temps)}", kept, float64, "temp")
                sched.temps.append(total)
                nest.totals[rid] = total
        return
    for s in nest.stores:
        for r in reductions(s.node):
            if id(r) not in nest.partials:
                bufs = [Buffer(f"acc{len(sched.temps) + i}", (chunks,), dtype, "temp")
                        for i, dtype in enumerate(accumulator_dtypes(r))]
                sched.temps += bufs
                nest.partials[id(r)] = bufs
