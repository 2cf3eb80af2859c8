"""IR rewrites, each a `Function -> Function` pass (`passes.py` runs them as a pipeline):

- `algebraic`: identities that hold bit for bit (x*1, x-0, x+(-0.0), x/1, x**1, neg(neg x),
  same-shape reshape/broadcast/convert, identity transpose; x*0 -> 0 for integers only, since
  NaN*0 is NaN), chains of reshapes and of transposes collapsed, small integer powers as
  multiplies (x**2 -> x*x and x**-1 -> 1/x round as pow does; x**3 -> x*x*x may move by an
  ulp), division by a power of two as a multiply, constant factors of a product gathered into
  one (`ct/4*3*2*x` -> `ct*x*1.5`: this reassociates, like fast-math, so results may move by an
  ulp, and a product whose intermediate would overflow or underflow no longer does), and
  constant or broadcast scalar operands sunk into their elementwise consumers (which
  broadcast anyway).
- `constant_folding`: elementwise ops on constants computed once.
- `cse`: equal equations (op, attrs, operands) computed once.
- `dead_code_elimination`: equations no result depends on removed.
- `canonicalize`: commutative operands ordered and equations in a canonical topological order,
  so that programs equal up to the order of independent equations print (and hash) equal.
"""
from __future__ import annotations

import hashlib
import math

import numpy as np

from .function import Eqn, Function, Literal, Var

# maximum/minimum are left out: on equal operands of opposite zero sign they pick a side.
COMMUTATIVE = {"add", "mul", "eq", "ne", "logical_and", "logical_or", "logical_xor"}
_LAYOUT_IDENTITY = ("reshape", "broadcast_to", "convert")


def _is_lit(a, value) -> bool:
    """`a` is the literal `value`, the sign of a zero included."""
    return isinstance(a, Literal) and a.value == value and (
        math.copysign(1.0, a.value) == math.copysign(1.0, value))


def _lit(value, dtype) -> Literal:
    return Literal(dtype.np.type(value).item(), dtype)


def _pow2(c) -> bool:
    """c is +-2**k (scaling by it is exact, barring overflow)."""
    if not isinstance(c, float) or c == 0 or not math.isfinite(c):
        return False
    return math.frexp(abs(c))[0] == 0.5


class _Rewriter:
    """A forward sweep: each equation is rewritten after its operands, through `subst`."""

    def __init__(self, fn: Function):
        self.fn = fn
        self.subst: dict[int, object] = {}
        self.producer: dict[int, Eqn] = {}
        self.eqns: list[Eqn] = []
        self.uses: dict[int, int] = {}
        for e in fn.eqns:
            for a in e.inputs:
                if isinstance(a, Var):
                    self.uses[id(a)] = self.uses.get(id(a), 0) + 1
        for r in fn.results:
            if isinstance(r, Var):
                self.uses[id(r)] = self.uses.get(id(r), 0) + 2   # results are never inlined

    def look(self, a):
        while isinstance(a, Var) and id(a) in self.subst:
            a = self.subst[id(a)]
        return a

    def emit(self, op, inputs, outputs, attrs) -> Eqn:
        e = Eqn(op, inputs, outputs, attrs, getattr(self, "origin", ""))
        for v in outputs:
            self.producer[id(v)] = e
        self.eqns.append(e)
        return e

    def new(self, op, inputs, type_, attrs=None) -> Var:
        v = Var(type_)
        self.emit(op, inputs, [v], dict(attrs or {}))
        return v

    def result(self) -> Function:
        return Function(self.fn.name, list(self.fn.params), self.eqns,
                        [self.look(r) for r in self.fn.results])


def _ops():
    from .op import OPS
    return OPS


def _constant(rw: _Rewriter, a):
    """The scalar every element of `a` equals when that is known statically, else None."""
    if isinstance(a, Literal):
        return a.value
    e = rw.producer.get(id(a))
    if e is None:
        return None
    if e.op.name == "full":
        return e.attrs["value"]
    if e.op.name == "zeros_like":
        return 0
    if e.op.name in ("broadcast_to", "reshape") and len(e.inputs) == 1:
        return _constant(rw, e.inputs[0])
    return None


def _retype_ok(eqn: Eqn, inputs) -> bool:
    """Whether `eqn` with `inputs` still infers its own result types."""
    try:
        return eqn.op.infer_types([a.type for a in inputs], eqn.attrs) == \
            [v.type for v in eqn.outputs]
    except Exception:  # noqa: BLE001 - any type error means: keep the original operands
        return False


def _sink(rw: _Rewriter, eqn: Eqn) -> Eqn:
    """Elementwise operands that are constants become literals (where the op takes them),
    and operands that only broadcast a smaller value become that value."""
    if eqn.op.kind != "elementwise" or eqn.op.name in ("guard", "zeros_like"):
        return eqn
    inputs = list(eqn.inputs)
    for i, a in enumerate(inputs):
        if not isinstance(a, Var):
            continue
        candidates = []
        c = _constant(rw, a)
        if c is not None and eqn.op.promote and i >= eqn.op.promote_from:
            candidates.append(_lit(c, a.dtype))
        src = rw.producer.get(id(a))
        while src is not None and src.op.name in ("broadcast_to", "reshape") and (
                src.op.name == "broadcast_to" or all(s == 1 for s in src.outputs[0].shape)):
            inner = src.inputs[0]
            if not isinstance(inner, Var) or inner.dtype is not a.dtype or (
                    src.op.name == "reshape" and inner.type.size != 1):
                break
            candidates.append(inner)
            src = rw.producer.get(id(inner))
        for cand in reversed(candidates):   # the deepest source that keeps the type
            trial = inputs[:i] + [cand] + inputs[i + 1:]
            if _retype_ok(eqn, trial):
                inputs = trial
                break
    return eqn if inputs == list(eqn.inputs) else Eqn(eqn.op, inputs, eqn.outputs, eqn.attrs,
                                                      eqn.origin)


def _identity(eqn: Eqn):
    """The atom an equation reduces to without computing, or None."""
    op, ins, out = eqn.op.name, eqn.inputs, eqn.outputs[0] if eqn.outputs else None
    if out is None or len(eqn.outputs) != 1:
        return None

    def same(a):
        return isinstance(a, Var) and a.type == out.type

    if op == "mul":
        for x, c in ((ins[0], ins[1]), (ins[1], ins[0])):
            if _is_lit(c, 1) and same(x):
                return x
    elif op == "add":
        for x, c in ((ins[0], ins[1]), (ins[1], ins[0])):
            # x + (-0.0) is x for every x; x + 0.0 turns -0.0 into +0.0.
            if same(x) and isinstance(c, Literal) and c.value == 0 and (
                    not out.dtype.is_floating_point or math.copysign(1.0, c.value) < 0):
                return x
    elif op == "pow":
        if _is_lit(ins[1], 1) and same(ins[0]):
            return ins[0]
    elif op in ("sub", "div"):
        if _is_lit(ins[1], 0 if op == "sub" else 1) and same(ins[0]):
            return ins[0]
    elif op in _LAYOUT_IDENTITY or op == "transpose":
        if same(ins[0]) and (op != "transpose" or eqn.attrs["perm"] == tuple(sorted(eqn.attrs["perm"]))):
            return ins[0]
    return None


def _factors(rw: _Rewriter, a, depth=0):
    """(non-constant factors, constant product) of `a` through single-use mul, neg and
    division by a constant; None when `a` is not such a product."""
    c = _constant(rw, a)
    if c is not None and isinstance(a, Literal):
        return [], c
    e = rw.producer.get(id(a)) if isinstance(a, Var) else None
    if e is None or depth > 64 or rw.uses.get(id(a), 0) != 1 or not a.dtype.is_floating_point:
        return [a], 1.0
    name = e.op.name
    if name == "mul":
        left, right = (_factors(rw, x, depth + 1) for x in e.inputs)
        return left[0] + right[0], left[1] * right[1]
    if name == "neg":
        fs, k = _factors(rw, e.inputs[0], depth + 1)
        return fs, -k
    if name == "div" and isinstance(e.inputs[1], Literal) and e.inputs[1].value != 0:
        fs, k = _factors(rw, e.inputs[0], depth + 1)
        return fs, k / e.inputs[1].value
    return [a], 1.0


def _product(rw: _Rewriter, eqn: Eqn):
    """A float product with two or more constant factors, rebuilt with their product as one
    factor; None when there is nothing to gather."""
    out = eqn.outputs[0]
    if eqn.op.name not in ("mul", "div") or not out.dtype.is_floating_point:
        return None
    if eqn.op.name == "div" and not (isinstance(eqn.inputs[1], Literal)
                                     and _pow2(float(eqn.inputs[1].value))):
        return None
    counted = 0
    fs, k = [], 1.0
    operands = eqn.inputs if eqn.op.name == "mul" else eqn.inputs[:1]
    for x in operands:
        xf, xk = _factors(rw, x)
        fs += xf
        k *= xk
        counted += _count_constants(rw, x)
    if eqn.op.name == "div":
        k /= eqn.inputs[1].value
        counted += 1
    if counted < 2 or not fs or not math.isfinite(k):
        return None
    ops = _ops()
    acc = fs[0]
    for f in fs[1:]:
        shape = np.broadcast_shapes(acc.shape, f.shape)
        acc = rw.new(ops["mul"], [acc, f], type(out.type)(tuple(shape), out.dtype))
    if k == 1.0:
        return acc if acc.type == out.type else None
    if k == -1.0:
        return Eqn(ops["neg"], [acc], eqn.outputs, {}, eqn.origin)
    return Eqn(ops["mul"], [acc, _lit(k, out.dtype)], eqn.outputs, {}, eqn.origin)


def _count_constants(rw, a, depth=0) -> int:
    if isinstance(a, Literal):
        return 1
    e = rw.producer.get(id(a))
    if e is None or depth > 64 or rw.uses.get(id(a), 0) != 1:
        return 0
    if e.op.name == "mul":
        return sum(_count_constants(rw, x, depth + 1) for x in e.inputs)
    if e.op.name == "neg":
        return _count_constants(rw, e.inputs[0], depth + 1) + 1
    if e.op.name == "div" and isinstance(e.inputs[1], Literal):
        return _count_constants(rw, e.inputs[0], depth + 1) + 1
    return 0


def _pow_expand(rw: _Rewriter, eqn: Eqn):
    """x**2 -> x*x, x**3 -> x*x*x, x**-1 -> 1/x (floats)."""
    if eqn.op.name != "pow" or not isinstance(eqn.inputs[0], Var):
        return None
    x, y, out = eqn.inputs[0], eqn.inputs[1], eqn.outputs[0]
    if not isinstance(y, Literal) or not out.dtype.is_floating_point or x.type != out.type:
        return None
    ops = _ops()
    if y.value == 2:
        return Eqn(ops["mul"], [x, x], eqn.outputs, {}, eqn.origin)
    if y.value == 3:
        sq = rw.new(ops["mul"], [x, x], out.type)
        return Eqn(ops["mul"], [sq, x], eqn.outputs, {}, eqn.origin)
    if y.value == -1:
        return Eqn(ops["div"], [_lit(1, out.dtype), x], eqn.outputs, {}, eqn.origin)
    return None


def _chain(rw: _Rewriter, eqn: Eqn) -> Eqn:
    """reshape(reshape x) -> reshape x; transpose(transpose x) -> one transpose;
    broadcast_to(broadcast_to x) -> broadcast_to x."""
    if not eqn.inputs or not isinstance(eqn.inputs[0], Var):
        return eqn
    src = rw.producer.get(id(eqn.inputs[0]))
    if src is None or src.op.name != eqn.op.name:
        return eqn
    if eqn.op.name in ("reshape", "broadcast_to"):
        return Eqn(eqn.op, [src.inputs[0]], eqn.outputs, eqn.attrs, eqn.origin)
    if eqn.op.name == "transpose":
        inner, outer = src.attrs["perm"], eqn.attrs["perm"]
        return Eqn(eqn.op, [src.inputs[0]], eqn.outputs,
                   {"perm": tuple(inner[p] for p in outer)}, eqn.origin)
    return eqn


def algebraic(fn: Function) -> Function:
    rw = _Rewriter(fn)
    for eqn in fn.eqns:
        eqn = Eqn(eqn.op, [rw.look(a) for a in eqn.inputs], eqn.outputs, eqn.attrs, eqn.origin)
        rw.origin = eqn.origin
        src = rw.producer.get(id(eqn.inputs[0])) if eqn.inputs and isinstance(
            eqn.inputs[0], Var) else None
        if src is not None and eqn.op.name == src.op.name == "neg":
            rw.subst[id(eqn.outputs[0])] = src.inputs[0]
            continue
        if eqn.op.name == "mul" and not eqn.outputs[0].dtype.is_floating_point and any(
                _is_lit(a, 0) for a in eqn.inputs):
            out = eqn.outputs[0]
            eqn = Eqn(_ops()["full"], [], eqn.outputs,
                      {"shape": out.shape, "dtype": out.dtype, "value": 0}, eqn.origin)
        if eqn.op.name == "add" and eqn.inputs[0] is eqn.inputs[1] and isinstance(
                eqn.inputs[0], Var):   # x + x is 2 * x exactly, and joins products
            eqn = Eqn(_ops()["mul"], [eqn.inputs[0], _lit(2, eqn.inputs[0].dtype)],
                      eqn.outputs, {}, eqn.origin)
        eqn = _sink(rw, _chain(rw, eqn))
        replaced = _product(rw, eqn) or _pow_expand(rw, eqn)
        if isinstance(replaced, Var):
            rw.subst[id(eqn.outputs[0])] = replaced
            continue
        if replaced is not None:
            eqn = replaced
        ident = _identity(eqn)
        if ident is not None:
            rw.subst[id(eqn.outputs[0])] = ident
            continue
        rw.emit(eqn.op, eqn.inputs, eqn.outputs, eqn.attrs)
    return rw.result()


def constant_folding(fn: Function) -> Function:
    """Elementwise equations whose operands are all constants become `full` of their value
    (which `algebraic` then sinks into consumers as a literal)."""
    from .interpreter import run_op
    rw = _Rewriter(fn)
    full = _ops()["full"]
    for eqn in fn.eqns:
        eqn = Eqn(eqn.op, [rw.look(a) for a in eqn.inputs], eqn.outputs, eqn.attrs, eqn.origin)
        rw.origin = eqn.origin
        consts = [_constant(rw, a) for a in eqn.inputs]
        if (eqn.op.kind == "elementwise" and eqn.op.name not in ("guard", "zeros_like")
                and eqn.inputs and len(eqn.outputs) == 1
                and all(c is not None for c in consts)):
            out = eqn.outputs[0]
            args = [np.asarray(c, a.dtype.np) for c, a in zip(consts, eqn.inputs)]
            with np.errstate(all="ignore"):
                value = run_op(eqn.op, args, eqn.attrs, [type(out.type)((), out.dtype)])[0]
            rw.emit(full, [], eqn.outputs, {"shape": out.shape, "dtype": out.dtype,
                                            "value": value.item()})
            continue
        rw.emit(eqn.op, eqn.inputs, eqn.outputs, eqn.attrs)
    return rw.result()


def _key(eqn: Eqn, name_of):
    ins = tuple(name_of(a) for a in eqn.inputs)
    if eqn.op.name in COMMUTATIVE:
        ins = tuple(sorted(ins, key=repr))
    return (eqn.op.name, ins, tuple(sorted((k, repr(v)) for k, v in eqn.attrs.items())))


def cse(fn: Function) -> Function:
    """Equations with the same op, attributes and operands computed once (opaque ops, which
    may have effects, are kept)."""
    rw = _Rewriter(fn)

    def name_of(a):
        return ("v", id(a)) if isinstance(a, Var) else ("l",) + a.key

    seen: dict = {}
    for eqn in fn.eqns:
        eqn = Eqn(eqn.op, [rw.look(a) for a in eqn.inputs], eqn.outputs, eqn.attrs, eqn.origin)
        key = _key(eqn, name_of) if eqn.op.kind != "opaque" else None
        if key is not None and key in seen:
            for old, new in zip(eqn.outputs, seen[key].outputs):
                rw.subst[id(old)] = new
            continue
        if key is not None:
            seen[key] = eqn
        rw.eqns.append(eqn)
    return rw.result()


def dead_code_elimination(fn: Function) -> Function:
    live = {id(r) for r in fn.results if isinstance(r, Var)}
    kept = []
    for eqn in reversed(fn.eqns):
        if any(id(v) in live for v in eqn.outputs):
            kept.append(eqn)
            live.update(id(a) for a in eqn.inputs if isinstance(a, Var))
    kept.reverse()
    return Function(fn.name, list(fn.params), kept, list(fn.results))


def canonicalize(fn: Function) -> Function:
    """Commutative operands sorted (tensors before literals, then by a structural hash), then
    equations in depth-first post-order from the results, operands left to right: an order
    that depends only on structure. Equations no result needs are dropped."""
    sig: dict[int, str] = {id(p): f"p{i}" for i, p in enumerate(fn.params)}

    def name(a):
        if isinstance(a, Literal):
            return f"~l{a.key}"   # sorts after values
        if id(a) not in sig:      # a free value of a function under construction
            sig[id(a)] = f"f{len(sig)}"
        return sig[id(a)]

    producer = {}
    for e in fn.eqns:
        ins = list(e.inputs)
        if e.op.name in COMMUTATIVE and len(ins) == 2 and name(ins[1]) < name(ins[0]):
            ins = [ins[1], ins[0]]
        text = f"{e.op.name}{sorted((k, repr(v)) for k, v in e.attrs.items())}" \
               f"({','.join(name(a) for a in ins)})"
        h = hashlib.sha1(text.encode()).hexdigest()[:16]
        e = Eqn(e.op, ins, e.outputs, e.attrs, e.origin)
        for k, v in enumerate(e.outputs):
            sig[id(v)] = f"{h}.{k}"
            producer[id(v)] = e
    order, done = [], set()
    for r in fn.results:
        stack = [(producer.get(id(r)), 0)] if isinstance(r, Var) else []
        while stack:
            e, i = stack.pop()
            if e is None or id(e) in done:
                continue
            if i < len(e.inputs):
                stack.append((e, i + 1))
                a = e.inputs[i]
                if isinstance(a, Var) and id(a) in producer:
                    stack.append((producer[id(a)], 0))
                continue
            done.add(id(e))
            order.append(e)
    return Function(fn.name, list(fn.params), order, list(fn.results))


def simplify(fn: Function, canonical: bool = True) -> Function:
    """The default pipeline (see `passes.py`): an equivalent, smaller, canonical function."""
    from .passes import run_pipeline
    return run_pipeline(fn, canonical=canonical)
