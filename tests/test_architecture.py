"""Structural rules: one-way imports, and every op record complete."""
from __future__ import annotations

import ast
import pathlib

import pytest

from tracegrad.ir import OPS

ROOT = pathlib.Path(__file__).resolve().parent.parent / "tracegrad"


def _imports(path: pathlib.Path) -> set[str]:
    """Absolute module names imported by `path` (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
    return out


@pytest.mark.parametrize("layer, allowed", [
    ("ir", ("tracegrad.ir",)),
    ("codegen", ("tracegrad.ir", "tracegrad.codegen")),
])
def test_layers_import_only_downward(layer, allowed):
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files
    for path in files:
        for mod in _imports(path):
            if mod.startswith("tracegrad"):
                assert mod.startswith(allowed), f"{path.relative_to(ROOT)} imports {mod}"


def test_third_party_imports_are_runtime_dependencies():
    allowed = {"numpy", "llvmlite"}
    import sys
    stdlib = set(sys.stdlib_module_names)
    for path in ROOT.rglob("*.py"):
        for mod in _imports(path):
            top = mod.split(".")[0]
            assert top in stdlib or top in allowed or top == "tracegrad", \
                f"{path.relative_to(ROOT)} imports {mod}"


NOT_DIFFERENTIABLE = {"eq", "ne", "lt", "le", "gt", "ge", "full", "stop_gradient", "zeros_like",
                      "guard"}
# ---- reductions, scans, softmax ----
NOT_DIFFERENTIABLE |= {"argmax", "argmin", "iota", "any", "all"}
# ---- shape and indexing ----
NOT_DIFFERENTIABLE |= {"one_hot"}


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_record_is_complete(name):
    op = OPS[name]
    assert callable(op.infer) and callable(op.impl)
    if name in NOT_DIFFERENTIABLE:
        assert op.vjp is None and not op.differentiable
    else:
        assert callable(op.vjp) and op.differentiable
    if op.kind in ("elementwise", "source"):
        assert callable(op.lower)
    elif op.kind == "composite":
        assert callable(op.decompose)
    elif op.kind == "layout":
        assert callable(op.view)
    else:
        # gather/scatter/pad: loads and stores at computed indices (codegen/gather.py)
        assert op.kind in ("reduce", "matmul", "index", "scan", "gather", "scatter", "pad")
