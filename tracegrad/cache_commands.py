"""`tracegrad cache ls | info | clear | verify | why`: inspecting the disk cache of compiled
programs (see `tracegrad.codegen.diskcache`)."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from . import config
from .codegen import DiskCache
from .codegen import program as programs
from .ir import parse_function


def _disk() -> DiskCache:
    return DiskCache(config.cache_dir)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _age(seconds: float) -> str:
    for unit, span in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f} {unit}"
    return f"{seconds:.0f} s"


def _signature(ir: str) -> str:
    head = ir.splitlines()[0] if ir else ""
    return head[head.find("("):-2] if "(" in head else "?"


def run_info(args, out=sys.stdout) -> int:
    disk = _disk()
    entries = disk.entries()
    state = "enabled" if config.disk_cache else "disabled (TRACEGRAD_DISK_CACHE=0)"
    print(f"location: {disk.dir}", file=out)
    print(f"state:    {state}", file=out)
    print(f"entries:  {len(entries)}", file=out)
    print(f"size:     {_size(sum(e['size'] for e in entries))}", file=out)
    return 0


def run_ls(args, out=sys.stdout) -> int:
    entries = _disk().entries()
    now = time.time()
    rows = [("function", "signature", "size", "age", "hits", "key")]
    for e in sorted(entries, key=lambda e: e.get("created", 0)):
        if e.get("damaged"):
            rows.append(("(damaged)", "", "", "", "", e["key"][:12]))
            continue
        rows.append((e.get("name", "?"), _signature(e.get("ir", "")), _size(e["size"]),
                     _age(now - e.get("created", now)), str(e.get("hits", 0)), e["key"][:12]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)
    return 0


def run_clear(args, out=sys.stdout) -> int:
    disk = _disk()
    print(f"removed {disk.clear()} file(s) from {disk.dir}", file=out)
    return 0


def _random_args(fn, rng):
    args = []
    for p in fn.params:
        if p.dtype.is_floating_point:
            args.append(rng.standard_normal(p.shape).astype(p.dtype.np))
        elif p.dtype.category == 1:
            args.append(rng.integers(0, 3, size=p.shape).astype(p.dtype.np))
        else:
            args.append(rng.random(p.shape) < 0.5)
    return args


def run_verify(args, out=sys.stdout) -> int:
    """Recompile every entry from its IR: identical object code, or identical results."""
    disk = _disk()
    failed = 0
    for e in disk.entries():
        label = f"{e.get('name', '?')} {e['key'][:12]}"
        try:
            fn = parse_function(e["ir"])
            parts = programs.key_parts(fn)
            if programs.program_key(parts) != e["key"]:
                raise ValueError("entry was made by another tracegrad, LLVM or CPU "
                                 "(its key does not match this setup)")
            found = disk.load(e["key"], parts)
            if found is None:
                raise ValueError("damaged entry")
            meta, obj = found
            fresh, fresh_obj = programs._compile(fn, e["key"])
            if fresh_obj == obj:
                print(f"ok        {label}: identical object code", file=out)
                continue
            stored = programs.load_entry(fn, meta, obj)
            data = _random_args(fn, np.random.default_rng(0))
            for a, b in zip(stored(*data), fresh(*data)):
                np.testing.assert_array_equal(a, b)
            print(f"ok        {label}: same results (object code differs)", file=out)
        except Exception as exc:  # noqa: BLE001 - report every entry, then fail
            failed += 1
            print(f"FAILED    {label}: {exc}", file=out)
    return 1 if failed else 0


def run_why(args, out=sys.stdout) -> int:
    """Whether calling FILE.py:FUNC with these shapes would hit the disk cache, or which part
    of the key differs from the nearest entry of the same function."""
    from .cli import load_target, make_inputs
    import tracegrad

    fn = load_target(args.target)
    cf = tracegrad.compile(fn.fn if isinstance(fn, tracegrad.CompiledFunction) else fn,
                           backend="interpreter")
    spec = cf._spec_for(make_inputs(args), {})   # traced and differentiated, not compiled
    disk = _disk()
    entries = [e for e in disk.entries() if not e.get("damaged")]
    status = 0
    for what, prog in spec.programs:
        parts = programs.key_parts(prog.fn)
        key = programs.program_key(parts)
        if os.path.exists(os.path.join(disk.dir, key + ".json")):
            print(f"{what}: hit ({key[:12]})", file=out)
            continue
        status = 1
        same_name = [e for e in entries if e.get("name") == prog.fn.name]
        if not same_name:
            print(f"{what}: miss: no entry for a function named {prog.fn.name!r}", file=out)
            continue
        def differing(e):
            return [k for k in parts if e["parts"].get(k) != parts[k]]
        nearest = min(same_name, key=lambda e: len(differing(e)))
        diff = differing(nearest)
        print(f"{what}: miss: nearest entry {nearest['key'][:12]} differs in "
              f"{', '.join(diff)}", file=out)
        if "ir" in diff:
            old, new = nearest.get("ir", "").splitlines(), str(prog.fn).splitlines()
            for i, (a, b) in enumerate(zip(old + [""] * len(new), new + [""] * len(old))):
                if a != b:
                    print(f"  first IR difference, line {i + 1}:\n    cached: {a}\n    now:    {b}",
                          file=out)
                    break
    return status
