"""The `tracegrad` command line: demo and dump of every stage."""
from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from tracegrad import cli

USER_FILE = '''
import tracegrad

def loss(x, w):
    return ((x @ w).tanh() ** 2).mean()

@tracegrad.compile
def scaled(x):
    return 3 * (x + 2) ** 2
'''


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(USER_FILE)
    return path


def _dump(*argv) -> str:
    out = io.StringIO()
    cli.run_dump(cli.build_parser().parse_args(["dump", *argv]), out=out)
    return out.getvalue()


def test_demo_prints_ir_result_and_gradients_matching_eager():
    out = io.StringIO()
    cli.run_demo(out=out)
    text = out.getvalue()
    assert "func @demo_loss(%x: f32[4,3], %w: f32[3,2], %b: f32[2]) -> (f32[])" in text
    assert "func @demo_loss_vjp(" in text and "matmul" in text and "tanh" in text
    assert re.search(r"loss   = tensor\(\d\.\d{4}, grad_fn=<CompiledFunctionBackward>\)", text)
    assert "w.grad = tensor([[" in text and "b.grad = tensor([" in text
    diff = float(re.search(r"max gradient difference (\S+)", text).group(1))
    assert diff < 1e-6


def test_dump_traced_and_adjoint(user_file):
    traced = _dump(f"{user_file}:loss", "--shape", "4,3", "--shape", "3,2")
    assert traced.splitlines()[0] == \
        "func @loss(%x: f32[4,3], %w: f32[3,2]) -> (f32[]) {"
    assert "  %0: f32[4,2] = matmul %x, %w" in traced
    adjoint = _dump(f"{user_file}:loss", "--shape", "4,3", "--shape", "3,2", "--stage", "adjoint")
    assert adjoint.startswith("func @loss_vjp(") and "-> (f32[4,3], f32[3,2])" in adjoint


def test_dump_backend_stages(user_file):
    args = [f"{user_file}:scaled", "--shape", "1000", "--stage"]
    optimized = _dump(*args, "optimized")
    assert optimized.count("func @") == 2          # forward (with residuals) and adjoint
    llvm = _dump(*args, "llvm")
    assert "define" in llvm and "fmul" in llvm
    asm = _dump(*args, "asm")
    assert re.search(r"\bv?mulp[sd]\b", asm)      # vectorized multiply on x86


def test_dump_without_grad_has_no_adjoint(user_file):
    with pytest.raises(SystemExit, match="stage 'adjoint' is not available"):
        _dump(f"{user_file}:scaled", "--shape", "3", "--no-grad", "--stage", "adjoint")


@pytest.mark.parametrize("target, message", [
    ("nofile.py:f", "no such file"),
    ("{file}:missing", "has no function 'missing'"),
    ("just_a_name", "expected FILE.py:FUNC"),
])
def test_dump_errors(user_file, target, message):
    with pytest.raises(SystemExit, match=message):
        _dump(target.format(file=user_file), "--shape", "3")


def test_console_entry_point_runs(user_file):
    proc = subprocess.run([sys.executable, "-m", "tracegrad", "dump", f"{user_file}:scaled",
                           "--shape", "2,2", "--dtype", "float64"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("func @scaled(%x: f64[2,2]) -> (f64[2,2])")
