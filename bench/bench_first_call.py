"""First call of a compiled 2-layer MLP training step in a fresh process, with a cold and a
warm disk cache (medians over several processes).

    python bench/bench_first_call.py [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

CHILD = textwrap.dedent("""
    import json, time
    t0 = time.perf_counter()
    import numpy as np
    import tracegrad as tg
    from tracegrad.codegen import cache_info
    t_import = time.perf_counter() - t0

    @tg.compile
    def step(x, y, w1, b1, w2, b2):
        h = (x @ w1 + b1).relu()
        return ((h @ w2 + b2 - y) ** 2).mean()

    rng = np.random.default_rng(0)
    t = lambda *s: tg.tensor(rng.standard_normal(s).astype(np.float32) * 0.1)
    x, y = t(64, 784), t(64, 10)
    params = [p.requires_grad_() for p in (t(784, 256), t(256), t(256, 10), t(10))]
    t1 = time.perf_counter()
    step(x, y, *params).backward()
    first = time.perf_counter() - t1
    t2 = time.perf_counter()
    step(x, y, *params).backward()
    second = time.perf_counter() - t2
    print(json.dumps({"import": t_import, "first": first, "second": second, **cache_info()}))
""")


def run(cache_dir: str) -> dict:
    env = dict(os.environ, TRACEGRAD_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            cold.append(run(d))
            warm.append(run(d))
    for label, rs in (("cold cache", cold), ("warm cache", warm)):
        med = {k: statistics.median(r[k] for r in rs) for k in ("import", "first", "second")}
        print(f"{label}: first call {med['first'] * 1e3:7.1f} ms (import {med['import'] * 1e3:.0f}"
              f" ms, second call {med['second'] * 1e3:.2f} ms); LLVM compiles "
              f"{rs[0]['llvm_compiles']}, disk hits {rs[0]['disk_hits']}")


if __name__ == "__main__":
    main()
