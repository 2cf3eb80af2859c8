"""Eager vs compiled forward+backward of mean(3*(x+2)**2), side by side with peers.

    python bench/bench_autograd.py [--sizes 4,1000000] [--repeat 15]

Prints median per-call times (microseconds) and ratios against tracegrad compiled. Peers run in
the same process: numpy by hand (forward and the hand-derived gradient), PyTorch eager and
torch.compile and jax.jit when installed.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tracegrad as tg


def median_us(fn, repeat: int, min_time: float = 0.02) -> float:
    fn()  # warm up (and compile)
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t >= min_time:
            break
        n *= 2
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(runs)


def loss(x):
    return (3 * (x + 2) ** 2).mean()


def cases(size: int):
    data = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    out = {}

    def numpy_by_hand():
        t = data + 2
        value = (3 * t * t).mean()
        grad = (6.0 / size) * t
        return value, grad
    out["numpy by hand"] = numpy_by_hand

    x = tg.tensor(data, requires_grad=True)

    def eager():
        x.grad = None
        loss(x).backward()
    out["tracegrad eager"] = eager

    compiled = tg.compile(loss)

    def tg_compiled():
        x.grad = None
        compiled(x).backward()
    out["tracegrad compiled"] = tg_compiled

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        tx = torch.tensor(data, requires_grad=True)

        def torch_eager():
            tx.grad = None
            loss(tx).backward()
        out["torch eager"] = torch_eager
        try:
            tc = torch.compile(loss)
            tc(tx).backward()

            def torch_compiled():
                tx.grad = None
                tc(tx).backward()
            out["torch.compile"] = torch_compiled
        except Exception as e:  # inductor needs a working C++ toolchain
            print(f"  (torch.compile unavailable: {type(e).__name__})")
    try:
        import jax
        import jax.numpy as jnp
        grad_fn = jax.jit(jax.value_and_grad(lambda v: (3 * (v + 2) ** 2).mean()))
        jx = jnp.asarray(data)
        out["jax.jit value_and_grad"] = lambda: jax.block_until_ready(grad_fn(jx))
    except ImportError:
        pass
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="4,1000000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for size in map(int, args.sizes.split(",")):
        print(f"\nmean(3*(x+2)**2) forward+backward, {size} float32 elements (median us/call)")
        results = {name: median_us(fn, args.repeat) for name, fn in cases(size).items()}
        base = results["tracegrad compiled"]
        for name, us in results.items():
            print(f"  {name:26s} {us:12.1f} us   {us / base:6.2f}x tracegrad compiled")

    f = tg.compile(loss)
    x = tg.randn(1000, requires_grad=True)
    t = time.perf_counter()
    f(x)
    print(f"\ntrace + compile (forward and adjoint): {(time.perf_counter() - t) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
