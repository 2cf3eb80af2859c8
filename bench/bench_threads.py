"""Where splitting a kernel across two threads pays: one thread vs two, per kernel kind and
size, medians of `timeit.repeat`. The thresholds in `tracegrad/codegen/schedule.py`
(PARALLEL_MIN_ELEMENTS) comes from this.

    .venv/bin/python bench/bench_threads.py [--sizes 14,16,18,20,22,23]

Each program is compiled with the split forced (thresholds set to 0) and run with
`tracegrad.config.threads` 1 and 2 (not left to the program's own measurement); speedup > 1
means two threads are faster. Float matrix products are not split (BLAS has its own threads). Run it on an
otherwise idle machine: a busy second core makes two threads look worse than they are.
"""
from __future__ import annotations

import argparse
import os
import statistics
import timeit

import numpy as np

import tracegrad as tg
from tracegrad.codegen import cache_clear, compile_function, schedule, worker
from tracegrad.ir import Builder, TensorType, float32, ops

CASES = {
    "map 3*(x+2)^2": lambda x: 3 * (x + 2) * (x + 2),
    "map tanh(x)*sigmoid(x)": lambda x: ops.tanh(x) * ops.sigmoid(x),
    "sum x^2 (partial)": lambda x: ops.reduce_sum(x * x, dims=(0,), keepdim=False),
}


def median(fn) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return statistics.median(timer.repeat(7, max(1, number // 2))) / max(1, number // 2)


def program(body, shape):
    b = Builder("f")
    x = b.param(TensorType(shape, float32), "x")
    return compile_function(b.build([body(x)]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="14,16,17,18,20,22,23",
                        help="log2 of the element counts")
    args = parser.parse_args(argv)
    schedule.PARALLEL_MIN_ELEMENTS = schedule.PARALLEL_MIN_MACS = 0
    # Each thread count as set, not as a program's own measurement would choose.
    worker.ThreadChoice.next = lambda self: (worker.THREADS, False)
    cache_clear()
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'kernel':26} {'elements':>10} {'1 thread':>12} {'2 threads':>12} {'speedup':>8}")
    rng = np.random.default_rng(0)
    for name, body in CASES.items():
        for log2 in map(int, args.sizes.split(",")):
            n = 1 << log2
            x = rng.standard_normal(n).astype(np.float32)
            p = program(body, (n,))
            times = []
            for threads in (1, 2):
                tg.config.threads = threads
                times.append(median(lambda: p(x)))
            print(f"{name:26} {n:>10} {times[0] * 1e6:>10.1f}us {times[1] * 1e6:>10.1f}us "
                  f"{times[0] / times[1]:>7.2f}x")
    del tg.config.threads


if __name__ == "__main__":
    main()
