"""The pass pipeline: rewrites from `simplify.py` run in order until nothing changes.

    fn = run_pipeline(fn)                                   # the default pipeline
    fn = run_pipeline(fn, print_after_all=True)             # dump the IR after every pass

With `TRACEGRAD_VERIFY=1` (or `verify=True`) the verifier runs after every pass and names the
pass that broke an invariant.
"""
from __future__ import annotations

import os
import sys

from .function import Function
from .simplify import algebraic, canonicalize, constant_folding, cse, dead_code_elimination

PASSES = {
    "algebraic": algebraic,
    "constant-folding": constant_folding,
    "cse": cse,
    "dce": dead_code_elimination,
    "canonicalize": canonicalize,
}
DEFAULT_PIPELINE = ("algebraic", "constant-folding", "cse", "dce")
MAX_ROUNDS = 8


def verify_enabled() -> bool:
    return os.environ.get("TRACEGRAD_VERIFY", "").strip() not in ("", "0")


def run_pipeline(fn: Function, passes=DEFAULT_PIPELINE, *, canonical: bool = True,
                 print_after_all: bool = False, verify: bool | None = None,
                 out=None) -> Function:
    """Run `passes` in order, repeatedly until the function stops changing (at most
    MAX_ROUNDS rounds), then `canonicalize` when `canonical`."""
    verify = verify_enabled() if verify is None else verify
    out = out or sys.stderr
    # A function under construction may use values it does not define yet; they stay free.
    free = fn.free_vars() if verify else ()
    state = _fingerprint(fn)
    for _ in range(MAX_ROUNDS):
        for name in passes:
            fn = _run(name, fn, verify, print_after_all, out, free)
        new = _fingerprint(fn)
        if new == state:
            break
        state = new
    if canonical:
        fn = _run("canonicalize", fn, verify, print_after_all, out, free)
    return fn


def _run(name: str, fn: Function, verify: bool, dump: bool, out, free=()) -> Function:
    fn = PASSES[name](fn)
    if verify:
        try:
            fn.verify(free)
        except ValueError as e:
            raise ValueError(f"IR invalid after pass {name!r}: {e}") from None
    if dump:
        print(f"// ----- IR after {name} -----", file=out)
        print(fn, file=out)
    return fn


def _fingerprint(fn: Function) -> tuple:
    """Equal for functions the passes left unchanged (works for functions under construction
    whose free values are not parameters yet, which cannot be printed)."""
    def ref(a):
        return id(a) if not hasattr(a, "key") else a.key
    return (tuple((e.op.name, tuple(map(ref, e.inputs)), tuple(map(id, e.outputs)),
                   repr(sorted(e.attrs.items(), key=lambda kv: kv[0]))) for e in fn.eqns),
            tuple(map(ref, fn.results)))
