"""The `tracegrad` command: `demo`; `dump` to inspect any stage of a compiled function; `cache`
to inspect the disk cache of compiled programs."""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time

STAGES = ("traced", "adjoint", "optimized", "llvm", "asm")


def demo_loss(x, w, b):
    """A one-layer regression loss: mean(tanh(x @ w + b) ** 2)."""
    return ((x @ w + b).tanh() ** 2).mean()


def run_demo(out=sys.stdout) -> None:
    import numpy as np

    import tracegrad

    tracegrad.manual_seed(0)
    x = tracegrad.randn(4, 3)
    w = tracegrad.randn(3, 2, requires_grad=True)
    b = tracegrad.randn(2, requires_grad=True)
    f = tracegrad.compile(demo_loss)

    start = time.perf_counter()
    loss = f(x, w, b)
    compile_ms = (time.perf_counter() - start) * 1e3
    stages = f.stages(x, w, b)
    print("# traced IR", stages["traced"], "", "# adjoint IR", stages["adjoint"], "",
          sep="\n", file=out)
    loss.backward()
    print(f"loss   = {loss}", f"w.grad = {w.grad}", f"b.grad = {b.grad}", sep="\n", file=out)

    ew, eb = w.detach().requires_grad_(), b.detach().requires_grad_()
    eager = demo_loss(x, ew, eb)
    eager.backward()
    diff = max(float(np.abs(a.grad.numpy() - e.grad.numpy()).max())
               for a, e in ((w, ew), (b, eb)))
    print(f"\ncompiled vs eager: loss {loss.item():.7g} vs {eager.item():.7g}, "
          f"max gradient difference {diff:.2e}", file=out)
    print(f"first call (trace + compile forward and adjoint): {compile_ms:.1f} ms; "
          f"traced {f.trace_count} time(s)", file=out)


def load_target(target: str):
    path, _, name = target.rpartition(":")
    if not path or not name:
        raise SystemExit(f"tracegrad: expected FILE.py:FUNC, got {target!r}")
    spec = importlib.util.spec_from_file_location("tracegrad_dump_target", path)
    if spec is None:
        raise SystemExit(f"tracegrad: cannot load {path!r}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError:
        raise SystemExit(f"tracegrad: no such file {path!r}") from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise SystemExit(f"tracegrad: {path} has no function {name!r}") from None


def make_inputs(args) -> list:
    """Random tensors (seeded) of the `--shape`s and `--dtype` given: tracing evaluates the
    Python code that reads tensor values on them."""
    import tracegrad

    dtype = {"float32": tracegrad.float32, "float64": tracegrad.float64}[args.dtype]
    tracegrad.manual_seed(0)
    inputs = []
    for shape in args.shape:
        dims = tuple(int(s) for s in shape.split(",") if s.strip()) if shape.strip() else ()
        grad = not args.no_grad and (not args.requires_grad or len(inputs) in args.requires_grad)
        inputs.append(tracegrad.randn(*dims, dtype=dtype, requires_grad=grad))
    return inputs


def run_dump(args, out=sys.stdout) -> None:
    import tracegrad

    fn = load_target(args.target)
    if not isinstance(fn, tracegrad.CompiledFunction):
        fn = tracegrad.compile(fn)
    stages = fn.stages(*make_inputs(args))
    if args.stage not in stages:
        raise SystemExit(f"tracegrad dump: stage {args.stage!r} is not available for this "
                         f"function (no input requires grad?)")
    print(stages[args.stage], file=out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracegrad", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="compile a small loss, print its IR, result and gradients")
    dump = sub.add_parser("dump", help="print one stage of a function's compilation")
    _target_arguments(dump)
    dump.add_argument("--stage", choices=STAGES, default="traced")
    cache = sub.add_parser("cache", help="inspect the disk cache of compiled programs")
    actions = cache.add_subparsers(dest="action", required=True)
    actions.add_parser("ls", help="entries: function, signature, size, age, hits")
    actions.add_parser("info", help="location, state, entries and total size")
    actions.add_parser("clear", help="delete every entry")
    actions.add_parser("verify", help="recompile every entry and compare")
    _target_arguments(actions.add_parser(
        "why", help="would FILE.py:FUNC hit the cache? else which key part differs"))
    return parser


def _target_arguments(p) -> None:
    p.add_argument("target", help="FILE.py:FUNC")
    p.add_argument("--shape", action="append", default=[],
                   help="shape of the next tensor argument, e.g. 2,3 ('' for 0-d)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--no-grad", action="store_true",
                   help="inputs don't require grad (no adjoint)")
    p.add_argument("--requires-grad", action="append", type=int, default=[], metavar="I",
                   help="only tensor argument I (0-based) requires grad; repeatable")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        run_demo()
        return 0
    if args.command == "dump":
        run_dump(args)
        return 0
    from . import cache_commands
    return getattr(cache_commands, f"run_{args.action}")(args)


if __name__ == "__main__":
    sys.exit(main())
