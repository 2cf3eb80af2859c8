"""Compiled tracegrad functions vs numpy: medians of `timeit.repeat` (7+ runs), as ratios.

    .venv/bin/python bench/bench_codegen.py

A ratio > 1 means the compiled program is faster than numpy. Compile times are measured on
first compilation (the in-memory cache is cleared first).
"""
from __future__ import annotations

import statistics
import time
import timeit

import numpy as np

from tracegrad.codegen import cache_clear, compile_function
from tracegrad.ir import Builder, TensorType, float32, ops

REPEAT = 7


def median_seconds(fn) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, number // 2)
    return statistics.median(timer.repeat(REPEAT, number)) / number


def build(body, *shapes, name="f"):
    b = Builder(name)
    xs = [b.param(TensorType(s, float32), f"x{i}") for i, s in enumerate(shapes)]
    return b.build([body(*xs)])


def compiled(fn):
    start = time.perf_counter()
    prog = compile_function(fn)
    return prog, time.perf_counter() - start


def row(label, prog, np_fn, args, compile_s):
    ours = median_seconds(lambda: prog(*args))
    theirs = median_seconds(lambda: np_fn(*args))
    print(f"{label:<28} {ours * 1e6:12.2f} {theirs * 1e6:12.2f} {theirs / ours:8.2f}x "
          f"{compile_s * 1e3:10.1f}  ({len(prog.kernels)} kernel(s))")


def main():
    cache_clear()
    rng = np.random.default_rng(0)
    print(f"{'case':<28} {'ours us':>12} {'numpy us':>12} {'ratio':>9} {'compile ms':>10}")
    for n in (4, 10_000, 1_000_000):
        x = rng.standard_normal(n).astype(np.float32)
        prog, c = compiled(build(lambda x: 3 * (x + 2) ** 2, (n,)))
        row(f"3*(x+2)**2 n={n}", prog, lambda x: 3 * (x + 2) ** 2, (x,), c)
        prog, c = compiled(build(lambda x: ops.mean(3 * (x + 2) ** 2, dims=(0,), keepdim=False),
                                 (n,)))
        row(f"mean(3*(x+2)**2) n={n}", prog, lambda x: np.mean(3 * (x + 2) ** 2), (x,), c)
    x = rng.uniform(-10, 10, 1_000_000).astype(np.float32)
    prog, c = compiled(build(ops.exp, (x.size,)))
    row("exp n=1e6", prog, np.exp, (x,), c)
    prog, c = compiled(build(ops.tanh, (x.size,)))
    row("tanh n=1e6", prog, np.tanh, (x,), c)
    for n in (256, 512):
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        prog, c = compiled(build(lambda a, b: a @ b, (n, n), (n, n)))
        row(f"matmul {n} f32", prog, np.matmul, (a, b), c)


if __name__ == "__main__":
    main()
