"""Output buffers reused once nobody else holds them.

Large arrays come from fresh `mmap`ed memory, so a training loop that allocates its gradients
each step page-faults (and the kernel zeroes) every page of them every step: for a 40 MB
gradient that costs more than the loop that fills it. A `Pool` keeps the arrays it handed out;
an array whose only references are the pool's own is free again (its last user, a `.grad`
set to None or a dropped result, let go), and the next call writes into it. Views, Tensors
and buffer exports of an array hold references to it, so none of them sees it reused.
"""
from __future__ import annotations

import sys

import numpy as np

MIN_BYTES = 1 << 17   # below glibc's mmap threshold allocation is cheap and recycles anyway
SLOTS = 2             # arrays kept per output: this step's and the previous step's


def _free(pool: list, limit: int):
    """The first array of `pool` referenced only by the pool (references below `limit`)."""
    for a in pool:
        if sys.getrefcount(a) <= limit:
            return a
    return None


def _free_refs() -> int:
    """The reference count `_free` sees for an array nobody else holds (measured: it
    depends on the interpreter)."""
    pool = [np.empty(1)]
    return next(n for n in range(1, 64) if _free(pool, n) is not None)


class Pool:
    """Arrays of one shape and dtype, handed out again once free."""

    __slots__ = ("shape", "dtype", "arrays")
    LIMIT = 0   # set below

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype
        self.arrays: list[np.ndarray] = []

    def take(self) -> np.ndarray:
        a = _free(self.arrays, Pool.LIMIT)
        if a is None:
            a = np.empty(self.shape, self.dtype)
            if len(self.arrays) < SLOTS:
                self.arrays.append(a)
        return a


def pool_for(shape, dtype) -> Pool | None:
    """A Pool for outputs this large, else None (plain `np.empty`)."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return Pool(shape, dtype) if nbytes >= MIN_BYTES else None


Pool.LIMIT = _free_refs()
