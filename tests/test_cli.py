"""The `tracegrad` command line: demo and dump of every stage."""
from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
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


TUTORIAL_FILE = '''
def tutorial(x):
    y = x + 2
    return (y * y * 3).mean()
'''


def test_dump_forward_backward_split_with_saved_bytes(tmp_path):
    path = tmp_path / "tut.py"
    path.write_text(TUTORIAL_FILE)
    args = [f"{path}:tutorial", "--shape", "2,2", "--stage"]
    note = ("// saved for backward: 0 bytes (16 without recomputation), "
            "1 equation(s) recomputed")
    forward = _dump(*args, "forward").splitlines()
    assert forward[:2] == [note, "func @tutorial(%x: f32[2,2]) -> (f32[]) {"]
    backward = _dump(*args, "backward").splitlines()
    assert backward[:3] == [note, "func @tutorial_vjp(%x: f32[2,2], %ct: f32[]) -> (f32[2,2]) {",
                            "  %0: f32[2,2] = add %x, 2.0  # recomputed from tut.py:3"]


def test_dump_print_after_all(user_file):
    text = _dump(f"{user_file}:loss", "--shape", "4,3", "--shape", "3,2", "--print-after-all")
    headers = [line for line in text.splitlines() if line.startswith("// -----")]
    assert headers[0] == "// ----- IR as traced -----"
    assert headers[-1] == "// ----- IR after canonicalize -----"
    assert {"// ----- IR after algebraic -----", "// ----- IR after cse -----",
            "// ----- IR after dce -----"} <= set(headers)
    assert text.count("func @loss(") == len(headers)


def _run(*argv) -> str:
    out = io.StringIO()
    cli.run_ir(cli.build_parser().parse_args(["run", *argv]), out=out)
    return out.getvalue()


def test_run_ir_file_with_npy_inputs(tmp_path):
    ir = tmp_path / "f.ir"
    ir.write_text("// a comment line\n"
                  "func @g(%x: f32[3], %y: f32[]) -> (f32[3], f32[]) {\n"
                  "  %0: f32[3] = mul %x, %y\n"
                  "  %1: f32[] = sum[dims=(0,), keepdim=False] %0\n"
                  "  return %0, %1\n"
                  "}\n")
    np.save(tmp_path / "x.npy", np.array([1.0, 2.0, 3.0], np.float32))
    np.save(tmp_path / "y.npy", np.array(2.0, np.float32))
    out = _run(str(ir), "--input", str(tmp_path / "x.npy"), "--input", str(tmp_path / "y.npy"),
               "--check")
    assert out.splitlines() == ["result 0: f32[3] = [2. 4. 6.]", "result 1: f32[] = 12.",
                                "interpreter: max difference 0"]


def test_dumped_backward_runs_standalone(tmp_path):
    ir = tmp_path / "mlp_vjp.ir"
    ir.write_text(_dump("examples/mlp.py:loss", "--shape", "64,8", "--shape", "64,1", "--shape",
                        "8,32", "--shape", "32", "--shape", "32,1", "--stage", "backward"))
    out = _run(str(ir), "--check")
    assert [line.split(" =")[0] for line in out.splitlines() if line.startswith("result")] == [
        "result 0: f32[64,8]", "result 1: f32[64,1]", "result 2: f32[8,32]",
        "result 3: f32[32]", "result 4: f32[32,1]"]
    diff = float(re.search(r"interpreter: max difference (\S+)", out).group(1))
    assert diff < 1e-5


def test_run_command_on_dumped_optimized_stage(tmp_path, capsys):
    (tmp_path / "tut.py").write_text(TUTORIAL_FILE)
    ir = tmp_path / "opt.ir"       # the loss and its gradient, as one function
    ir.write_text(_dump(f"{tmp_path / 'tut.py'}:tutorial", "--shape", "2,2", "--stage",
                        "optimized"))
    np.save(tmp_path / "x.npy", np.ones((2, 2), np.float32))
    assert cli.main(["run", str(ir), "--func", "tutorial", "--input",
                     str(tmp_path / "x.npy")]) == 0
    assert capsys.readouterr().out == ("result 0: f32[] = 27.\n"
                                       "result 1: f32[2,2] = [[4.5 4.5]\n [4.5 4.5]]\n")


def test_run_picks_function_and_seeds_random_inputs(tmp_path):
    ir = tmp_path / "two.ir"
    ir.write_text("func @a(%x: f64[2]) -> (f64[2]) {\n  %0: f64[2] = neg %x\n  return %0\n}\n"
                  "func @b(%x: f64[2]) -> (f64[2]) {\n  %0: f64[2] = sub %x, %x\n"
                  "  return %0\n}\n")
    assert _run(str(ir), "--func", "b") == "result 0: f64[2] = [0. 0.]\n"
    first, again = _run(str(ir)), _run(str(ir), "--input", "2")
    assert first == again and first.startswith("result 0: f64[2] = [")


@pytest.mark.parametrize("argv, message", [
    (["--func", "c"], "has no function 'c' \\(it has a, b\\)"),
    (["--input", "3"], "shape '3' given for parameter 0 \\(f64\\[2\\]\\)"),
    (["--input", "2", "--input", "2"], "2 inputs given, @a has 1 parameter"),
    (["--input", "missing.npy"], "cannot load 'missing.npy'"),
])
def test_run_errors(tmp_path, argv, message):
    ir = tmp_path / "two.ir"
    ir.write_text("func @a(%x: f64[2]) -> (f64[2]) {\n  %0: f64[2] = neg %x\n  return %0\n}\n"
                  "func @b(%x: f64[2]) -> (f64[2]) {\n  %0: f64[2] = neg %x\n  return %0\n}\n")
    with pytest.raises(SystemExit, match=message):
        _run(str(ir), *argv)


def test_run_rejects_bad_ir(tmp_path):
    ir = tmp_path / "bad.ir"
    ir.write_text("func @a(%x: f64[2]) -> (f64[2]) {\n  %0: f64[2] = nosuchop %x\n"
                  "  return %0\n}\n")
    with pytest.raises(SystemExit, match="line 2: unknown op"):
        _run(str(ir))
    with pytest.raises(SystemExit, match="cannot read .*missing.ir': No such file"):
        _run(str(tmp_path / "missing.ir"))
    (tmp_path / "empty.ir").write_text("// nothing here\n")
    with pytest.raises(SystemExit, match="holds no function"):
        _run(str(tmp_path / "empty.ir"))
