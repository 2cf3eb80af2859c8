"""`compile_function`, the compiled `Program` and the in-memory cache."""
from __future__ import annotations

import ctypes
import time

import numpy as np

from ..ir import Function, Literal
from . import blas
from .decompose import decompose
from .emit import emit_module
from .expr import contiguous_strides
from .jit import LOCK, jit, unique_name
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


class Program:
    """A compiled Function. Call it with numpy arrays matching `fn.params` exactly."""

    def __init__(self, fn: Function, sched, llvm_ir: str, llvm_ir_optimized: str, tracker,
                 address: int, compile_seconds: float):
        self.fn = fn
        self.schedule = sched
        self.kernels = sched.kernels
        self.llvm_ir = llvm_ir
        self.llvm_ir_optimized = llvm_ir_optimized
        self.compile_seconds = compile_seconds
        self._asm = None
        self._tracker = tracker   # keeps the machine code alive
        self._params = tuple((p.shape, p.dtype.np,
                              tuple(s * p.dtype.itemsize for s in contiguous_strides(p.shape)))
                             for p in fn.params)
        outputs = [o[0] for o in sched.outputs if isinstance(o, tuple)]
        self._outputs = tuple((buf.shape, buf.dtype.np) for buf in outputs)
        # How to hand back each result: (output index, shape to reshape to or None), or
        # (None, array) for a literal result (copied per call so every result is fresh).
        results = []
        for o in sched.outputs:
            if isinstance(o, Literal):
                results.append((None, np.asarray(o.value, o.dtype.np)))
            else:
                buf, shape = o
                index = next(i for i, b in enumerate(outputs) if b is buf)
                results.append((index, shape if shape != buf.shape else None))
        self._results = tuple(results)
        self._arena_bytes = sched.arena_bytes
        self._arenas: list[np.ndarray] = []   # free list; pop/append are atomic under the GIL
        nargs = len(self._params) + len(self._outputs) + (1 if self._arena_bytes else 0)
        argtype = ctypes.py_object if DATA_OFFSET is not None else ctypes.c_void_p
        self._cfunc = ctypes.CFUNCTYPE(None, *[argtype] * nargs)(address)
        self._raw = DATA_OFFSET is None

    @property
    def asm(self) -> str:
        """Host assembly (generated on first access)."""
        if self._asm is None:
            with LOCK:
                self._asm = jit().assembly(self.llvm_ir_optimized)
        return self._asm

    def __call__(self, *arrays) -> list[np.ndarray]:
        params = self._params
        if len(arrays) != len(params):
            raise TypeError(f"{self.fn.name}: expected {len(params)} arguments, "
                            f"got {len(arrays)}")
        args = []
        for a, (shape, dtype, strides) in zip(arrays, params):
            if type(a) is not np.ndarray:
                a = np.asarray(a)
            if a.shape != shape or a.dtype != dtype:
                raise TypeError(f"{self.fn.name}: argument of type {a.dtype}{list(a.shape)} "
                                f"does not match parameter {dtype}{list(shape)}")
            if a.strides != strides:
                a = np.ascontiguousarray(a)
            args.append(a)
        outs = [np.empty(shape, dtype) for shape, dtype in self._outputs]
        args += outs
        arena = None
        if self._arena_bytes:
            try:
                arena = self._arenas.pop()
            except IndexError:
                arena = np.empty(self._arena_bytes, np.uint8)
            args.append(arena)
        if self._raw:
            args = [a.ctypes.data for a in args]
        self._cfunc(*args)
        if arena is not None:
            self._arenas.append(arena)
        res = []
        for index, extra in self._results:
            if index is None:
                res.append(extra.copy())
            elif extra is None:
                res.append(outs[index])
            else:
                res.append(outs[index].reshape(extra))
        return res

    def __repr__(self):
        lines = [f"Program {self.fn.name}: {len(self.kernels)} kernel(s)"]
        lines += [f"  {k!r}" for k in self.kernels]
        return "\n".join(lines)


_cache: dict = {}
_stats = {"hits": 0, "misses": 0}


def cache_info() -> dict:
    """Hits, misses and entries of the in-memory Program cache."""
    return {"hits": _stats["hits"], "misses": _stats["misses"], "entries": len(_cache)}


def cache_clear() -> None:
    with LOCK:
        _cache.clear()
        _stats.update(hits=0, misses=0)


def compile_function(fn: Function) -> Program:
    """Compile `fn` for the host CPU; structurally equal functions share one Program."""
    j = jit()
    key = (fn.key(), j.target.key)
    with LOCK:
        prog = _cache.get(key)
        if prog is not None:
            _stats["hits"] += 1
            return prog
        _stats["misses"] += 1
        prog = _compile(fn, j)
        _cache[key] = prog
        return prog


def _compile(fn: Function, j) -> Program:
    start = time.perf_counter()
    fn = decompose(fn)
    gemm = blas.find_gemm()
    sched = schedule(fn, blas_dtypes=[d for d in fn_dtypes(fn) if d.name in gemm])
    entry = unique_name("tg_entry_")
    module = emit_module(sched, entry, j.target, DATA_OFFSET, gemm)
    llvm_ir = str(module)
    mod = j.optimize(llvm_ir)
    optimized = str(mod)
    imports = {g.symbol: g.address for g in gemm.values()
               if any(k.kind == "matmul" and k.impl == "blas" for k in sched.kernels)}
    tracker, address = j.load(mod, entry, imports)
    return Program(fn, sched, llvm_ir, optimized, tracker, address,
                   time.perf_counter() - start)


def fn_dtypes(fn: Function) -> set:
    return {v.dtype for e in fn.eqns for v in e.outputs}
