"""The `tracegrad` command: `demo`; `dump` to inspect any stage of a compiled function; `run`
to compile and run IR text (a dumped stage is a standalone reproduction); `cache` to inspect
the disk cache of compiled programs."""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time

STAGES = ("traced", "adjoint", "forward", "backward", "optimized", "llvm", "asm")


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
          "# optimized IR (compiled)", stages["optimized"], "", sep="\n", file=out)
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
    if args.print_after_all:
        from .ir import parse_function
        from .ir.passes import run_pipeline

        print("// ----- IR as traced -----", stages["traced"], sep="\n", file=out)
        run_pipeline(parse_function(stages["traced"]), print_after_all=True, out=out)
        return
    if args.stage not in stages:
        raise SystemExit(f"tracegrad dump: stage {args.stage!r} is not available for this "
                         f"function (no input requires grad?)")
    print(stages[args.stage], file=out)


def read_ir(path: str, name: str | None = None):
    """The function `name` (default: the first) of the IR text in `path`."""
    from .ir import ParseError, parse_function

    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise SystemExit(f"tracegrad run: cannot read {path!r}: {e.strerror}") from None
    chunks, current = [], None
    for line in text.splitlines():
        if line.startswith("func @"):
            current = []
            chunks.append(current)
        if current is not None:
            current.append(line)
    if not chunks:
        raise SystemExit(f"tracegrad run: {path} holds no function ('func @...')")
    try:
        fns = [parse_function("\n".join(c)) for c in chunks]
    except ParseError as e:
        raise SystemExit(f"tracegrad run: {path}: {e}") from None
    if name is None:
        return fns[0]
    for fn in fns:
        if fn.name == name:
            return fn
    raise SystemExit(f"tracegrad run: {path} has no function {name!r} "
                     f"(it has {', '.join(f.name for f in fns)})")


def ir_inputs(fn, specs: list) -> list:
    """One array per parameter of `fn`: loaded from a .npy file, or random values (seed 0) of
    the parameter's type; a shape given instead of a file must be the parameter's."""
    import numpy as np

    if len(specs) > len(fn.params):
        raise SystemExit(f"tracegrad run: {len(specs)} inputs given, @{fn.name} has "
                         f"{len(fn.params)} parameter(s)")
    rng = np.random.default_rng(0)
    arrays = []
    for i, p in enumerate(fn.params):
        spec = specs[i] if i < len(specs) else None
        want = f"parameter {i} ({p.type})"
        if spec is not None and spec.endswith(".npy"):
            try:
                a = np.load(spec, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise SystemExit(f"tracegrad run: cannot load {spec!r}: {e}") from None
            if a.shape != p.shape or a.dtype != p.dtype.np:
                raise SystemExit(f"tracegrad run: {spec} holds {a.dtype}{list(a.shape)}, "
                                 f"{want} needs {p.dtype.np}{list(p.shape)}")
            arrays.append(a)
            continue
        if spec is not None:
            shape = tuple(int(s) for s in spec.split(",") if s.strip())
            if shape != p.shape:
                raise SystemExit(f"tracegrad run: shape {spec!r} given for {want}")
        if p.dtype.is_floating_point:
            a = rng.standard_normal(p.shape).astype(p.dtype.np)
        elif p.dtype.category == 0:
            a = rng.random(p.shape) < 0.5
        else:
            a = rng.integers(0, 4, p.shape)
        arrays.append(np.asarray(a, dtype=p.dtype.np))
    return arrays


def run_ir(args, out=None) -> None:
    import numpy as np

    from .codegen import compile_function
    from .ir import evaluate

    out = out or sys.stdout
    fn = read_ir(args.file, args.func)
    arrays = ir_inputs(fn, args.input)
    results = compile_function(fn)(*arrays)
    for i, (v, r) in enumerate(zip(fn.results, results)):
        print(f"result {i}: {v.type} =", np.array2string(np.asarray(r), precision=6,
                                                          threshold=32), file=out)
    if args.check:
        ref = evaluate(fn, arrays)
        diff = max((float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
                    for a, b in zip(results, ref) if np.size(a)), default=0.0)
        print(f"interpreter: max difference {diff:.3g}", file=out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracegrad", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="compile a small loss, print its IR, result and gradients")
    dump = sub.add_parser("dump", help="print one stage of a function's compilation")
    _target_arguments(dump)
    dump.add_argument("--stage", choices=STAGES, default="traced")
    dump.add_argument("--print-after-all", action="store_true",
                      help="print the traced IR, then the IR after every pass of the pipeline")
    run = sub.add_parser("run", help="compile IR text (FILE.ir) with the LLVM backend, run it, "
                                     "print the results")
    run.add_argument("file", help="IR text, e.g. saved from `tracegrad dump`")
    run.add_argument("--func", help="which function of the file (default: the first)")
    run.add_argument("--input", action="append", default=[], metavar="NPY_OR_SHAPE",
                     help="the next parameter: a .npy file, or its shape (e.g. 4,3) for random "
                          "values; parameters not given get random values (seed 0)")
    run.add_argument("--check", action="store_true",
                     help="also evaluate with the reference interpreter and compare")
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
    if args.command == "run":
        run_ir(args)
        return 0
    from . import cache_commands
    return getattr(cache_commands, f"run_{args.action}")(args)


if __name__ == "__main__":
    sys.exit(main())
