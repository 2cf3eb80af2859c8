"""`compile_function`, the compiled `Program`, and its caches (in memory and on disk)."""
from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import time

import llvmlite
import llvmlite.binding as llvm
import numpy as np

from ..ir import Function, Literal
from . import blas
from .decompose import decompose
from .diskcache import FORMAT, DiskCache
from .emit import emit_module
from .expr import contiguous_strides
from .jit import LOCK, jit
from .pool import pool_for
from .worker import WORKER, ThreadChoice, threads
from .schedule import schedule


def _detect_data_offset() -> int | None:
    """Offset of the data pointer in a numpy array object (PyArrayObject.data follows the
    PyObject header). Verified on live arrays; None makes programs take raw pointers."""
    offset = object.__basicsize__
    try:
        for a in (np.empty(3, np.float32), np.zeros((2, 5), np.int64)[:, 1:]):
            if ctypes.c_void_p.from_address(id(a) + offset).value != a.ctypes.data:
                return None
    except Exception:  # noqa: BLE001 - any surprise means: don't read object internals
        return None
    return offset


DATA_OFFSET = _detect_data_offset()


class Abi:
    """How a compiled entry is called: parameter and output buffers, how each result is
    read back, and the scratch arena size. JSON-serializable, so code loaded from the disk
    cache is called exactly as it was compiled to be."""

    def __init__(self, params, outputs, results, arena_bytes: int, checks=(),
                 status_offset: int = 0, sync_words: int = 0):
        self.params = tuple((tuple(s), str(d)) for s, d in params)
        self.outputs = tuple((tuple(s), str(d)) for s, d in outputs)
        # per result: ("out", output index, shape to reshape to or None) or ("lit", value, dtype)
        self.results = tuple(tuple(r) if r[0] == "lit" else
                             ("out", r[1], None if r[2] is None else tuple(r[2]))
                             for r in results)
        self.arena_bytes = int(arena_bytes)
        # index checks (kind, dim, size) and where their status words sit in the arena
        self.checks = tuple((str(k), int(d), int(n)) for k, d, n in checks)
        self.status_offset = int(status_offset)
        # The entry also takes (sync, part) when some kernels split across two threads.
        self.sync_words = int(sync_words)

    @classmethod
    def of(cls, sched) -> "Abi":
        outputs = [o[0] for o in sched.outputs if isinstance(o, tuple)]
        results = []
        for o in sched.outputs:
            if isinstance(o, Literal):
                results.append(("lit", o.value, np.dtype(o.dtype.np).name))
            else:
                buf, shape = o
                index = next(i for i, b in enumerate(outputs) if b is buf)
                results.append(("out", index, shape if shape != buf.shape else None))
        return cls([(p.shape, np.dtype(p.dtype.np).name) for p in sched.fn.params],
                   [(b.shape, np.dtype(b.dtype.np).name) for b in outputs], results, sched.arena_bytes,
                   sched.checks, sched.status.offset if sched.status is not None else 0,
                   sched.sync_words)

    def to_json(self) -> dict:
        return {"params": self.params, "outputs": self.outputs, "results": self.results,
                "arena_bytes": self.arena_bytes, "checks": self.checks,
                "status_offset": self.status_offset, "sync_words": self.sync_words}

    @classmethod
    def from_json(cls, d: dict) -> "Abi":
        return cls(d["params"], d["outputs"], d["results"], d["arena_bytes"],
                   d.get("checks", ()), d.get("status_offset", 0), d.get("sync_words", 0))


class Program:
    """A compiled Function. Call it with numpy arrays matching `fn.params` exactly.

    `kernels`, `llvm_ir`, `llvm_ir_optimized` and `asm` are for inspection; for a program
    loaded from the disk cache they are regenerated on first access."""

    def __init__(self, fn: Function, abi: Abi, entry: str, tracker, address: int,
                 compile_seconds: float, source: str, sched=None, llvm_ir=None,
                 llvm_ir_optimized=None):
        self.fn = fn
        self.abi = abi
        self.entry = entry
        self.compile_seconds = compile_seconds
        self.source = source            # "compiled" or "disk"
        self._sched = sched
        self._llvm_ir = llvm_ir
        self._llvm_ir_optimized = llvm_ir_optimized
        self._asm = None
        self._tracker = tracker   # keeps the machine code alive
        self._params = tuple((shape, np.dtype(dtype),
                              tuple(s * np.dtype(dtype).itemsize
                                    for s in contiguous_strides(shape)))
                             for shape, dtype in abi.params)
        self._outputs = tuple((shape, np.dtype(dtype)) for shape, dtype in abi.outputs)
        # Large outputs are reused once their users let go (a training loop's gradients).
        self._pools = tuple(pool_for(shape, dtype) for shape, dtype in self._outputs)
        self._pooled = any(p is not None for p in self._pools)
        self._strides = tuple(strides for _, _, strides in self._params)
        # (output index, shape or None), or (None, array) for a literal result (copied per
        # call so every result is fresh).
        self._results = tuple((r[1], r[2]) if r[0] == "out"
                              else (None, np.asarray(r[1], np.dtype(r[2])))
                              for r in abi.results)
        # Results are the outputs themselves, in order (the common case: returned as is).
        self._direct = self._results == tuple((i, None) for i in range(len(self._outputs)))
        self._arena_bytes = abi.arena_bytes
        self._checks = abi.checks
        self._status = slice(abi.status_offset, abi.status_offset + 16 * len(abi.checks))
        self._arenas: list[np.ndarray] = []   # free list; pop/append are atomic under the GIL
        nargs = len(self._params) + len(self._outputs) + (1 if self._arena_bytes else 0)
        argtype = ctypes.py_object if DATA_OFFSET is not None else ctypes.c_void_p
        self._sync_words = abi.sync_words
        self._threads = ThreadChoice()
        extra = [argtype, ctypes.c_int64] if abi.sync_words else []
        self._cfunc = ctypes.CFUNCTYPE(None, *[argtype] * nargs, *extra)(address)
        # The worker's call takes the arguments as addresses (a PyObject's is its id), so it
        # holds no reference to them: output buffers go back to the pool once the caller's
        # results are dropped. The caller keeps them alive until the call is complete.
        self._cfunc_addresses = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * nargs, argtype,
                                                 ctypes.c_int64)(address) \
            if abi.sync_words else None
        self._raw = DATA_OFFSET is None

    # ---- inspection ----------------------------------------------------------------------------
    @property
    def schedule(self):
        if self._sched is None:
            self._sched = _schedule(self.fn)
        return self._sched

    @property
    def kernels(self) -> list:
        return self.schedule.kernels

    @property
    def llvm_ir(self) -> str:
        if self._llvm_ir is None:
            self._llvm_ir = str(emit_module(self.schedule, self.entry, jit().target,
                                            DATA_OFFSET, blas.find_gemm()))
        return self._llvm_ir

    @property
    def llvm_ir_optimized(self) -> str:
        if self._llvm_ir_optimized is None:
            with LOCK:
                self._llvm_ir_optimized = str(jit().optimize(self.llvm_ir))
        return self._llvm_ir_optimized

    @property
    def asm(self) -> str:
        """Host assembly (generated on first access)."""
        if self._asm is None:
            with LOCK:
                self._asm = jit().assembly(self.llvm_ir_optimized)
        return self._asm

    # ---- running -------------------------------------------------------------------------------
    def __call__(self, *arrays) -> list[np.ndarray]:
        params = self._params
        if len(arrays) != len(params):
            raise TypeError(f"{self.fn.name}: expected {len(params)} arguments, "
                            f"got {len(arrays)}")
        arrays = [a if type(a) is np.ndarray else np.asarray(a) for a in arrays]
        for a, (shape, dtype, _) in zip(arrays, params):
            if a.shape != shape or a.dtype != dtype:
                raise TypeError(f"{self.fn.name}: argument of type {a.dtype}{list(a.shape)} "
                                f"does not match parameter {dtype}{list(shape)}")
        return self.run(arrays)

    def run(self, arrays: list) -> list[np.ndarray]:
        """`__call__` for arrays already known to have the parameters' shapes and dtypes
        (a compiled function's signature says so); only their layout is checked."""
        args = [a if a.strides == st else np.ascontiguousarray(a)
                for a, st in zip(arrays, self._strides)]
        if self._pooled:
            outs = [np.empty(shape, dtype) if pool is None else pool.take()
                    for (shape, dtype), pool in zip(self._outputs, self._pools)]
        else:
            outs = [np.empty(shape, dtype) for shape, dtype in self._outputs]
        args += outs
        arena = None
        if self._arena_bytes:
            try:
                arena = self._arenas.pop()
            except IndexError:
                arena = np.empty(self._arena_bytes, np.uint8)
            args.append(arena)
        if self._checks:
            status = arena[self._status].view(np.int64)
            status[:] = 0
        if self._raw:
            args = [a.ctypes.data for a in args]
        if self._sync_words:
            sync = state = np.zeros(self._sync_words, np.int64)
            if self._raw:
                sync = state.ctypes.data
            n, timed = self._threads.next() if threads() > 1 else (1, False)
            start = time.perf_counter() if timed else 0.0
            if n > 1:
                WORKER.run(self._cfunc, self._cfunc_addresses, args,
                           args if self._raw else [id(a) for a in args], sync, state)
            else:
                self._cfunc(*args, sync, 0)
            if timed:
                self._threads.record(n, time.perf_counter() - start)
        else:
            self._cfunc(*args)
        if arena is not None:
            self._arenas.append(arena)
        if self._direct:
            res = outs
        else:
            res = []
            for index, extra in self._results:
                if index is None:
                    res.append(extra.copy())
                elif extra is None:
                    res.append(outs[index])
                else:
                    res.append(outs[index].reshape(extra))
        if self._checks and status[::2].any():
            self._raise_index_error(status, res)
        return res

    def _raise_index_error(self, status, results):
        """PyTorch's error for the first index check that failed (the kernels recorded it).
        It carries the `outputs` (garbage where the index was bad), so a caller can first see
        whether guards computed alongside send this call elsewhere."""
        from ..ir.ops.index import index_error
        slot = int(np.flatnonzero(status[::2])[0])
        kind, dim, size = self._checks[slot]
        error = index_error(kind, int(status[2 * slot + 1]), dim, size)
        error.outputs = results
        raise error

    def __repr__(self):
        lines = [f"Program {self.fn.name}: {len(self.kernels)} kernel(s)"]
        lines += [f"  {k!r}" for k in self.kernels]
        return "\n".join(lines)


# ---- keys ------------------------------------------------------------------------------------

@functools.cache
def _source_hash() -> str:
    """SHA-256 of tracegrad's own source: any change to it can change the code generated."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                h.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as f:
                    h.update(f.read() + b"\0")
    return h.hexdigest()


@functools.cache
def _context_parts() -> dict:
    """Everything besides the function that compiled code depends on."""
    target = jit().target
    try:
        from importlib.metadata import version
        tg_version = version("tracegrad")
    except Exception:  # noqa: BLE001 - not installed as a distribution: the hash decides
        tg_version = "unknown"
    return {
        "tracegrad": tg_version, "tracegrad_source": _source_hash(),
        "llvmlite": llvmlite.__version__,
        "llvm": ".".join(map(str, llvm.llvm_version_info)),
        "triple": target.triple, "cpu": target.cpu, "features": target.features,
        "options": {"format": FORMAT, "data_offset": DATA_OFFSET,
                    "gemm": {d: [g.symbol, g.int_bits] for d, g in blas.find_gemm().items()}},
    }


def key_parts(fn: Function) -> dict:
    """What a compiled program's cache key covers: the IR (structural hash of its canonical
    text, which includes the input signature) and the context of `_context_parts`."""
    return {"ir": fn.key(), **_context_parts()}


def program_key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# ---- caches ------------------------------------------------------------------------------------

_cache: dict = {}
_stats = {"hits": 0, "misses": 0, "disk_hits": 0, "llvm_compiles": 0}


def cache_info() -> dict:
    """Counters: in-memory `hits` and `misses`, `disk_hits` (programs loaded from the disk
    cache), `llvm_compiles` (programs LLVM optimized and compiled), and `entries` in memory."""
    return dict(_stats, entries=len(_cache))


def cache_clear() -> None:
    """Empty the in-memory cache and reset the counters (the disk cache is kept)."""
    with LOCK:
        _cache.clear()
        _stats.update(hits=0, misses=0, disk_hits=0, llvm_compiles=0)


def compile_function(fn: Function, disk: DiskCache | None = None) -> Program:
    """Compile `fn` for the host CPU. Structurally equal functions share one Program; with a
    `disk` cache, object code compiled by an earlier process is loaded instead of compiled."""
    parts = key_parts(fn)
    key = program_key(parts)
    with LOCK:
        prog = _cache.get(key)
        if prog is not None:
            _stats["hits"] += 1
            return prog
        _stats["misses"] += 1
        if disk is not None and not disk.usable():
            disk = None
        prog = _load(fn, key, parts, disk) if disk is not None else None
        if prog is None:
            prog, obj = _compile(fn, key)
            if disk is not None:
                disk.store(key, parts, _metadata(prog), obj)
        _cache[key] = prog
        return prog


def _schedule(fn: Function):
    gemm = blas.find_gemm()
    fn = decompose(fn)
    return schedule(fn, blas_dtypes=[d for d in fn_dtypes(fn) if d.name in gemm])


def _imports(sched) -> dict:
    return {g.symbol: g.address for g in blas.find_gemm().values()
            if any(k.kind == "matmul" and k.impl == "blas" for k in sched.kernels)}


def _compile(fn: Function, key: str) -> tuple[Program, bytes]:
    j = jit()
    start = time.perf_counter()
    sched = _schedule(fn)
    entry = f"tg_{key[:24]}"
    module = emit_module(sched, entry, j.target, DATA_OFFSET, blas.find_gemm())
    llvm_ir = str(module)
    mod = j.optimize(llvm_ir)
    optimized = str(mod)
    obj = j.tm.emit_object(mod)
    _stats["llvm_compiles"] += 1
    tracker, address = j.load_object(obj, entry, _imports(sched))
    prog = Program(fn, Abi.of(sched), entry, tracker, address, time.perf_counter() - start,
                   "compiled", sched, llvm_ir, optimized)
    return prog, obj


def _metadata(prog: Program) -> dict:
    return {"name": prog.fn.name, "ir": str(prog.fn), "entry": prog.entry,
            "imports": sorted(_imports(prog.schedule)), "abi": prog.abi.to_json(),
            "compile_seconds": prog.compile_seconds}


def _load(fn: Function, key: str, parts: dict, disk: DiskCache) -> Program | None:
    found = disk.load(key, parts)
    if found is None:
        return None
    prog = load_entry(fn, *found)
    if prog is not None:
        _stats["disk_hits"] += 1
    return prog


def load_entry(fn: Function, meta: dict, obj: bytes) -> Program | None:
    """Link a validated disk-cache entry; BLAS symbols are resolved now, by name."""
    start = time.perf_counter()
    gemm = {g.symbol: g.address for g in blas.find_gemm().values()}
    if any(s not in gemm for s in meta["imports"]):
        return None  # the key covers the BLAS found, so this is a damaged entry
    tracker, address = jit().load_object(obj, meta["entry"],
                                         {s: gemm[s] for s in meta["imports"]})
    return Program(fn, Abi.from_json(meta["abi"]), meta["entry"], tracker, address,
                   time.perf_counter() - start, "disk")


def fn_dtypes(fn: Function) -> set:
    return {v.dtype for e in fn.eqns for v in e.outputs}
