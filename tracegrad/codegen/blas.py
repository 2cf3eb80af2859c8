"""Finding a CBLAS gemm in the process: numpy's bundled OpenBLAS.

numpy wheels ship OpenBLAS under `numpy.libs/` with prefixed, suffixed symbols
(`scipy_cblas_sgemm64_`, 64-bit integers); other builds export plain `cblas_sgemm`. The integer
width is read from the symbol suffix or, failing that, the library's config string. When no
gemm is found, matmul falls back to a generated loop nest.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import os
from dataclasses import dataclass

import numpy as np

# (prefix, suffix) pairs to try, most specific first.
_NAMINGS = (("scipy_cblas_", "64_"), ("cblas_", "64_"), ("scipy_cblas_", ""), ("cblas_", ""))


@dataclass(frozen=True)
class Gemm:
    symbol: str        # e.g. "scipy_cblas_sgemm64_"
    address: int
    int_bits: int      # width of M, N, K, lda, ...: 64 (ILP64) or 32


def _candidate_libraries() -> list[str]:
    root = os.path.dirname(np.__file__)
    paths = []
    for d in (os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".libs")):
        paths += sorted(glob.glob(os.path.join(d, "*blas*.so*")))
    try:
        lib_dir = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["lib directory"]
        paths += sorted(glob.glob(os.path.join(lib_dir, "*blas*.so*")))
    except Exception:  # noqa: BLE001 - show_config's layout is informational only
        pass
    return paths


def _int_bits(lib, prefix: str, suffix: str) -> int:
    if suffix == "64_":
        return 64
    for name in (f"{prefix.replace('cblas_', 'openblas_')}get_config", "openblas_get_config"):
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = ctypes.c_char_p
            return 64 if b"USE64BITINT" in (fn() or b"") else 32
    return 32


@functools.cache
def find_gemm() -> dict:
    """{"float32": Gemm, "float64": Gemm} for the first library that has both, else {}."""
    for path in _candidate_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in _NAMINGS:
            found = {}
            for dtype, letter in (("float32", "s"), ("float64", "d")):
                name = f"{prefix}{letter}gemm{suffix}"
                fn = getattr(lib, name, None)
                if fn is not None:
                    address = ctypes.cast(fn, ctypes.c_void_p).value
                    found[dtype] = Gemm(name, address, _int_bits(lib, prefix, suffix))
            if len(found) == 2:
                return found
    return {}
