"""The benchmark suite: workloads W1-W5 (loss and gradients, float32) for tracegrad compiled,
tracegrad eager, numpy by hand and every installed peer (PyTorch eager, torch.compile,
jax.jit), side by side in one process.

    python bench/suite.py [--quick] [--json PATH] [--workloads W1-4,W4] [--peers ...]
                          [--threads N (default 2; 0: the libraries' defaults)]

Per workload and peer: the first call (trace + compile for compiled peers; tracegrad's disk
cache points at an empty directory, so it is cold) is checked against the float64 reference,
then each peer's warm steps are timed in turn: the figure is the median over samples, a
sample being the mean of a batch of steps lasting >= 1 ms. Minor
page faults per step come from getrusage around the timed batches. Prints times, ratios to
numpy by hand, first calls, page faults and the targets for tracegrad compiled; exits 1 if a
peer computed wrong numbers or tracegrad failed. A peer that fails to run (torch.compile
without a C++ compiler) is reported with its error.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import tempfile
import time

from peers import PEER_NAMES, Unavailable, load
from workloads import WORKLOADS, check, reference

TG = "tracegrad compiled"

# (workload, what tracegrad compiled is compared with, the highest ratio that meets the target)
# "fastest peer" is the fastest of numpy by hand, torch eager, torch.compile and jax.jit.
TARGETS = [("W1-4", "jax.jit", 1.2), ("W1-1e7", "numpy by hand", 0.55), ("W2", "jax.jit", 0.7),
           ("W3-64", "fastest peer", 0.95), ("W3-1024", "fastest peer", 0.95),
           ("W4", "numpy by hand", 1.0), ("W5", "torch.compile", 0.6)]
FIRST_CALL_TARGETS = [("W3-64", 0.3), ("W3-1024", 0.3)]
PEERS_TO_BEAT = ("numpy by hand", "torch eager", "torch.compile", "jax.jit")


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class _Timer:
    """Samples of one peer's warm steps: a sample is the mean over a batch of steps lasting
    >= 1 ms; minor page faults are counted around each batch."""

    def __init__(self, step, warm_seconds: float):
        start = time.perf_counter()
        warm = 0
        while warm < 2 or time.perf_counter() - start < warm_seconds:
            step()
            warm += 1
        self.step = step
        self.batch = max(1, int(1e-3 * warm / (time.perf_counter() - start)))
        self.samples, self.steps, self.faults = [], 0, 0

    def sample(self):
        faults = _minor_faults()
        t = time.perf_counter()
        for _ in range(self.batch):
            self.step()
        self.samples.append((time.perf_counter() - t) / self.batch)
        self.faults += _minor_faults() - faults
        self.steps += self.batch

    def result(self) -> dict:
        return {"ms": statistics.median(self.samples) * 1e3,
                "samples_ms": [s * 1e3 for s in self.samples], "steps_per_sample": self.batch,
                "faults_per_step": self.faults / self.steps}


def first_call(peer, w, data, ref) -> tuple:
    """Set up and run the first step, checked against the reference: (result, step)."""
    try:
        step = peer.setup(w, data)
        t = time.perf_counter()
        loss, grads = step()
        first = time.perf_counter() - t
        return {"first_call_s": first,
                "check": check(ref, peer.to_numpy(loss),
                               {k: peer.to_numpy(g) for k, g in zip(w.wrt, grads)})}, step
    except Exception as e:  # reported per cell: an unsupported op, a peer's compiler failing...
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}, None


def time_each(steps: dict, budget: float, min_samples: int) -> dict:
    """Time each peer's steps for about `budget` seconds, one peer after the other, its
    batches back to back as a training loop runs them."""
    out = {}
    for name, step in steps.items():
        try:
            timer = _Timer(step, 0.1 * budget)
            start = time.perf_counter()
            while len(timer.samples) < min_samples or (
                    time.perf_counter() - start < budget and len(timer.samples) < 200):
                timer.sample()
            out[name] = timer.result()
        except Exception as e:
            out[name] = {"error": f"{type(e).__name__}: {e}"}
    return out


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def run(args) -> dict:
    peers, missing = {}, {}
    for name in PEER_NAMES:
        if name not in args.peers:
            missing[name] = "not selected (--peers)"
            continue
        try:
            peers[name] = load(name)
        except Unavailable as e:
            missing[name] = str(e)
    budget, min_samples = (0.05, 3) if args.quick else (1.0, 7)
    out = {"machine": machine(), "load_average": {"start": os.getloadavg()[0]},
           "quick": args.quick, "seed": args.seed, "threads": args.threads,
           "versions": {p.name: p.version for p in peers.values()}, "missing": missing,
           "workloads": {}}
    for wid in args.workloads:
        w = WORKLOADS[wid]
        data = w.data(args.seed)
        t = time.perf_counter()
        ref = reference(w, data)
        print(f"{w.title}: float64 reference {ref[0]:.9g} ({time.perf_counter() - t:.1f} s)",
              file=sys.stderr)
        results, steps = {}, {}
        for name in PEER_NAMES:
            if name in missing:
                results[name] = {"missing": missing[name]}
                continue
            results[name], step = first_call(peers[name], w, data, ref)
            if step is not None and results[name]["check"]["ok"]:
                steps[name] = step
        for name, timing in time_each(steps, budget, min_samples).items():
            results[name].update(timing)
        for name, r in results.items():
            print(f"  {name:20s} " + (f"{r['ms']:10.4f} ms" if "ms" in r else
                                      r.get("error") or r.get("missing") or
                                      f"WRONG {r['check']}"), file=sys.stderr)
        out["workloads"][wid] = {"title": w.title, "reference_loss": ref[0], "results": results}
    out["load_average"]["end"] = os.getloadavg()[0]
    out["targets"] = targets(out["workloads"])
    return out


def targets(workloads: dict) -> list:
    """Each target for tracegrad compiled with its measured ratio: met, missed, or n/a."""
    rows = []
    for wid, against, limit in TARGETS:
        if wid not in workloads:
            continue
        res = workloads[wid]["results"]
        ms = {name: r["ms"] for name, r in res.items() if "ms" in r}
        if against == "fastest peer":
            times = {n: ms[n] for n in PEERS_TO_BEAT if n in ms}
            against_name = min(times, key=times.get) if times else None
        else:
            against_name = against if against in ms else None
        row = {"workload": wid, "target": f"<= {limit}x {against}", "limit": limit}
        if TG not in ms or against_name is None:
            row.update(ratio=None, status="n/a",
                       reason=f"{TG if TG not in ms else against} not timed")
        else:
            ratio = ms[TG] / ms[against_name]
            row.update(ratio=ratio, against=against_name,
                       status="met" if ratio <= limit else "missed")
        rows.append(row)
    for wid, limit in FIRST_CALL_TARGETS:
        if wid in workloads:
            r = workloads[wid]["results"].get(TG, {})
            first = r.get("first_call_s")
            rows.append({"workload": wid, "target": f"first call <= {limit} s", "limit": limit,
                         "first_call_s": first, "status": "n/a" if first is None else
                         "met" if first <= limit else "missed"})
    return rows


# ---- printing ----------------------------------------------------------------------------------
SHORT = {"numpy by hand": "numpy", "tracegrad compiled": "tg compiled",
         "tracegrad eager": "tg eager", "torch eager": "torch eager",
         "torch.compile": "torch.compile", "jax.jit": "jax.jit"}


def _cell(r: dict, value) -> str:
    if "missing" in r:
        return "missing"
    if "error" in r:
        return "error"
    if not r["check"]["ok"]:
        return "WRONG"
    return value(r)


def _g(x: float) -> str:
    """Three significant digits, never in exponent notation."""
    if x == 0 or abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{max(0, 2 - math.floor(math.log10(abs(x))))}f}"


def table(res: dict, title: str, value) -> str:
    lines = [title, f"{'':9s}" + "".join(f"{SHORT[n]:>14s}" for n in PEER_NAMES)]
    for wid, w in res["workloads"].items():
        lines.append(f"{wid:9s}" + "".join(f"{_cell(w['results'][n], value):>14s}"
                                           for n in PEER_NAMES))
    return "\n".join(lines)


def report(res: dict) -> str:
    def ratio(wid):
        base = res["workloads"][wid]["results"]["numpy by hand"].get("ms")
        return lambda r: f"{r['ms'] / base:.2f}x" if base else "-"

    parts = [
        table(res, "Milliseconds per warm step (median)", lambda r: _g(r["ms"])),
        "Ratio to numpy by hand\n" + "\n".join(
            table({"workloads": {wid: w}}, "", ratio(wid)).splitlines()[-1]
            for wid, w in res["workloads"].items()),
        table(res, "First call, milliseconds (trace + compile + one step)",
              lambda r: _g(r["first_call_s"] * 1e3)),
        table(res, "Minor page faults per warm step", lambda r: _g(r["faults_per_step"])),
    ]
    lines = ["Targets for tracegrad compiled"]
    for t in res["targets"]:
        got = (f"{t['ratio']:.2f}x {t['against']}" if t.get("ratio") is not None else
               f"{t['first_call_s']:.3f} s" if t.get("first_call_s") is not None else
               t.get("reason", "no measurement"))
        lines.append(f"  {t['workload']:9s} {t['target']:28s} measured {got:28s} {t['status']}")
    parts.append("\n".join(lines))
    problems = [f"  {wid} {name}: {r.get('error') or r['check']}"
                for wid, w in res["workloads"].items() for name, r in w["results"].items()
                if "error" in r or ("check" in r and not r["check"]["ok"])]
    if problems:
        parts.append("Errors and wrong results\n" + "\n".join(problems))
    if res["missing"]:
        parts.append("Missing peers\n" + "\n".join(f"  {n}: {why}"
                                                  for n, why in res["missing"].items()))
    m = res["machine"]
    load = res["load_average"]
    threads = f"{res['threads']} thread(s) per library" if res["threads"] else \
        "each library's default threads"
    parts.append(f"{m['cpu']}, {m['cores']} cores, {threads}, Python {m['python']}; " +
                 ", ".join(f"{n} {v}" for n, v in res["versions"].items()) +
                 f"\n1-minute load average {load['start']:.2f} at start, {load['end']:.2f} at end "
                 f"(other processes on the cores make the figures unreliable)")
    return "\n\n".join(parts)


def failed(res: dict) -> bool:
    """A wrong number from any peer, or tracegrad failing to run a workload."""
    return any(("check" in r and not r["check"]["ok"]) or
               ("error" in r and name.startswith("tracegrad"))
               for w in res["workloads"].values() for name, r in w["results"].items())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--peers", default=",".join(PEER_NAMES),
                        help=f"comma-separated subset of {','.join(PEER_NAMES)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, metavar="N",
                        help="threads per library (BLAS, OpenMP, XLA, tracegrad): 2 by "
                             "default, the cores of this machine kind; 1 gives steadier "
                             "figures on a busy machine (a multithreaded pool stalls whenever "
                             "another process wants a core); 0 leaves each library its own "
                             "default")
    args = parser.parse_args(argv)
    if args.threads and os.environ.get("TRACEGRAD_BENCH_THREADS") != str(args.threads):
        # Thread pools are sized when the libraries load: start again with the environment set.
        n = str(args.threads)
        env = dict(os.environ, TRACEGRAD_BENCH_THREADS=n, TRACEGRAD_THREADS=n,
                   OMP_NUM_THREADS=n,
                   OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
                   XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen="
                             f"{'true' if args.threads > 1 else 'false'} "
                             f"intra_op_parallelism_threads={n}".strip())
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    args.workloads = args.workloads.split(",")
    args.peers = args.peers.split(",")
    for kind, given, known in (("workload", args.workloads, WORKLOADS),
                               ("peer", args.peers, PEER_NAMES)):
        unknown = [g for g in given if g not in known]
        if unknown:
            parser.error(f"unknown {kind} {', '.join(unknown)}; choose from {', '.join(known)}")
    import tracegrad
    with tempfile.TemporaryDirectory(prefix="tracegrad-bench-") as cache:
        tracegrad.config.cache_dir = cache  # first calls compile from scratch
        res = run(args)
    print(report(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 1 if failed(res) else 0


if __name__ == "__main__":
    sys.exit(main())
