"""Parsing the IR's text form (see `function.py`) back into a `Function`.

`parse_function(str(fn))` gives a function that prints to the same text. Literals carry no
type in the text: a literal takes the dtype of the tensor operands it was promoted with (every
operand an op promotes shares one dtype), or its text's default (float32, int64, bool) when
all of them are literals.
"""
from __future__ import annotations

import ast
import re

from .function import Eqn, Function, Literal, Var
from .op import OPS
from .types import DEFAULT_FLOAT, TensorType, bool_, dtype_named, int64

_VALUE = re.compile(r"%([\w.]+): (\w+\[[\d,]*\])")
_HEADER = re.compile(r"func @([\w.]+)\((.*)\) -> \((.*)\) \{")
_TYPE = re.compile(r"(\w+)\[([\d,]*)\]")


class ParseError(ValueError):
    """Malformed IR text; the message names the line."""


def parse_type(text: str) -> TensorType:
    m = _TYPE.fullmatch(text.strip())
    if m is None:
        raise ParseError(f"bad type {text!r}")
    shape = tuple(int(s) for s in m[2].split(",")) if m[2] else ()
    return TensorType(shape, dtype_named(m[1]))


def _scan(text: str):
    """(index, char, bracket depth) of each character outside quoted strings."""
    depth, quote = 0, None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = None
            continue
        if ch in "'\"":
            quote = ch
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        yield i, ch, depth


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside brackets and quotes."""
    parts, start = [], 0
    for i, ch, depth in _scan(text):
        if ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    return parts + ([tail] if tail else [])


def _closing(text: str, start: int) -> int:
    """Index of the bracket closing the one at `start`."""
    for i, ch, depth in _scan(text[start:]):
        if ch in ")]}" and depth == 0:
            return start + i
    raise ParseError("unbalanced brackets")


def _strip_comment(line: str) -> str:
    """The line without its `# ...` comment (a `#` inside a quoted attribute is kept)."""
    for i, ch, _ in _scan(line):
        if ch == "#":
            return line[:i]
    return line


def _attr_value(node):
    """A Python literal, a dtype name (`f32`), or a float printed as `inf`/`nan` (repr)."""
    if isinstance(node, ast.Name):
        return float(node.id) if node.id in ("inf", "nan") else dtype_named(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(
            node.operand, ast.Name):
        return -_attr_value(node.operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_attr_value(e) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    return ast.literal_eval(node)


def _attrs(text: str) -> dict:
    call = ast.parse(f"f({text})", mode="eval").body
    return {kw.arg: _attr_value(kw.value) for kw in call.keywords}


def _literal_text(text: str):
    if text in ("true", "false"):
        return text == "true", bool_
    if re.fullmatch(r"-?\d+", text):
        return int(text), int64
    return float(text), DEFAULT_FLOAT


def parse_function(text: str) -> Function:
    """The Function printed as `text` (raises ParseError naming the line)."""
    raw = text.splitlines()
    lines = [(n, _strip_comment(l).strip()) for n, l in enumerate(raw, 1)]
    origins = {n: raw[n - 1][len(_strip_comment(raw[n - 1])):].lstrip("# ").rstrip()
               for n, _ in lines}
    lines = [(n, l) for n, l in lines if l and not l.startswith("//")]
    if not lines:
        raise ParseError("empty IR text")
    env: dict[str, Var] = {}
    n, header = lines[0]
    m = _HEADER.fullmatch(header)
    if m is None:
        raise ParseError(f"line {n}: expected 'func @name(...) -> (...) {{'")
    params = []
    for name, type_text in _VALUE.findall(m[2]):
        v = env[name] = Var(parse_type(type_text), name)
        params.append(v)
    eqns, results = [], None
    for n, line in lines[1:]:
        try:
            if line.startswith("return"):
                results = [_operand(a, env, None) for a in _split_top(line[len("return"):])]
                continue
            if line == "}":
                break
            eqns.append(_eqn(line, env, origins.get(n, "")))
        except ParseError as e:
            raise ParseError(f"line {n}: {e}") from None
        except (KeyError, ValueError, SyntaxError) as e:
            raise ParseError(f"line {n}: {type(e).__name__}: {e}: {line}") from None
    if results is None:
        raise ParseError("no return line")
    fn = Function(m[1], params, eqns, results)
    fn.verify()
    return fn


def _operand(text: str, env: dict, dtype):
    if text.startswith("%"):
        if text[1:] not in env:
            raise ParseError(f"{text} is used before it is defined")
        return env[text[1:]]
    value, default = _literal_text(text)
    dtype = dtype or default
    return Literal(dtype.np.type(value).item(), dtype)


def _eqn(line: str, env: dict, origin: str = "") -> Eqn:
    lhs, _, rhs = line.partition(" = ")
    outs = _VALUE.findall(lhs)
    if not outs:
        raise ParseError(f"expected '%name: type, ... = op ...', got {line!r}")
    m = re.match(r"(\w+)", rhs)
    if m is None or m[1] not in OPS:
        raise ParseError(f"unknown op in {rhs!r}")
    op = OPS[m[1]]
    rest = rhs[m.end():]
    attrs = {}
    if rest.startswith("["):
        end = _closing(rest, 0)
        attrs = _attrs(rest[1:end])
        rest = rest[end + 1:]
    args = _split_top(rest.strip())
    # Literals share the dtype of the tensors they were promoted with.
    group = range(op.promote_from, len(args)) if op.promote else range(0)
    typed = [env[a[1:]].dtype for i, a in enumerate(args) if i in group and a.startswith("%")
             and a[1:] in env]
    inputs = [_operand(a, env, typed[0] if typed and i in group else None)
              for i, a in enumerate(args)]
    outputs = []
    for name, type_text in outs:
        if name in env:
            raise ParseError(f"%{name} is defined twice")
        v = env[name] = Var(parse_type(type_text))
        outputs.append(v)
    return Eqn(op, inputs, outputs, attrs, origin)
