"""The PyTorch autograd tutorial (../shared/autograd-tutorial.txt) with `import tracegrad as torch`.

The first part replays the tutorial step by step in-process, checking every value and repr (with
inputs chosen so that even the tutorial's random cells print exactly what the tutorial shows).
The second part extracts the tutorial's code cells, runs them unchanged (apart from the import)
as a script in a subprocess, and compares each cell's displayed output with the tutorial's.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tracegrad as torch

# The tutorial as shared beside the project (../shared); tests/data holds the same text for
# checkouts without it (test_vendored_copy_is_current keeps the two identical).
SHARED_TUTORIAL = Path(__file__).resolve().parents[2] / "shared" / "autograd-tutorial.txt"
VENDORED_TUTORIAL = Path(__file__).resolve().parent / "data" / "autograd-tutorial.txt"
TUTORIAL = SHARED_TUTORIAL if SHARED_TUTORIAL.exists() else VENDORED_TUTORIAL


def test_vendored_copy_is_current():
    assert VENDORED_TUTORIAL.read_text()
    if SHARED_TUTORIAL.exists():
        assert VENDORED_TUTORIAL.read_text() == SHARED_TUTORIAL.read_text()


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    yield
    assert torch.is_grad_enabled()


# ---- step by step ---------------------------------------------------------------------------

def test_version_exists():
    assert isinstance(torch.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+", torch.__version__)


def test_tutorial_first_graph():
    x = torch.ones(2, 2, requires_grad=True)
    assert repr(x) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"

    y = x + 2
    assert repr(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    assert y.grad_fn.name() == "AddBackward0"
    assert repr(y.grad_fn).startswith("<AddBackward0 object at 0x")
    assert re.fullmatch(r"<AddBackward0 object at 0x[0-9a-f]+>", repr(y.grad_fn))

    z = y * y * 3
    assert repr(z) == "tensor([[27., 27.],\n        [27., 27.]], grad_fn=<MulBackward0>)"
    out = z.mean()
    assert repr(out) == "tensor(27., grad_fn=<MeanBackward0>)"
    assert out.item() == 27.0

    out.backward()
    assert repr(x.grad) == "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"
    assert x.grad.tolist() == [[4.5, 4.5], [4.5, 4.5]]
    assert x.grad.dtype is torch.float32


def _tutorial_a():
    # a0 = t / (t - 3) inverts a -> 3a / (a - 1): the tutorial's printed `a` comes out again.
    t = np.array([[1.4668, -3.3510], [5.7669, -3.4547]])
    return torch.tensor((t / (t - 3)).astype(np.float32))


def test_tutorial_requires_grad_flow():
    a = _tutorial_a()
    a = ((a * 3) / (a - 1))
    assert repr(a) == "tensor([[ 1.4668, -3.3510],\n        [ 5.7669, -3.4547]])"
    assert a.requires_grad is False
    assert a.grad_fn is None  # nothing required grad: no history was recorded

    assert a.requires_grad_(True) is a
    assert a.requires_grad is True and a.is_leaf

    b = (a * a).sum()
    assert repr(b) == "tensor(58.5728, grad_fn=<SumBackward0>)"
    an = a.detach().numpy()
    assert b.item() == pytest.approx(float(np.sum(an.astype(np.float64) ** 2)), rel=1e-6)
    assert b.grad_fn.name() == "SumBackward0"
    assert re.fullmatch(r"<SumBackward0 object at 0x[0-9a-f]+>", repr(b.grad_fn))


def test_tutorial_requires_grad_flow_random():
    torch.manual_seed(0)
    a = torch.randn(2, 2)
    a0 = a.numpy().copy()
    a = ((a * 3) / (a - 1))
    np.testing.assert_array_equal(a.numpy(), (a0 * np.float32(3)) / (a0 - np.float32(1)))
    assert not a.requires_grad
    a.requires_grad_(True)
    b = (a * a).sum()
    assert b.item() == pytest.approx(float(np.sum(a.detach().numpy().astype(np.float64) ** 2)),
                                     rel=1e-6)
    assert repr(b).endswith(", grad_fn=<SumBackward0>)")


def _vjp_loop(x):
    y = x * 2
    k = 1
    while y.data.norm() < 1000:
        y = y * 2
        k += 1
    return y, k


def test_tutorial_vector_jacobian_product():
    # the x of the brief: |x| = 1.183, so the loop stops at 2**10 = 1024
    x = torch.tensor([0.0254, -0.2455, 1.1570], requires_grad=True)
    y, k = _vjp_loop(x)
    assert k == 10
    assert repr(y) == "tensor([  26.0096, -251.3920, 1184.7679], grad_fn=<MulBackward0>)"
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy() * np.float32(2.0 ** k))

    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
    y.backward(v)
    # multiplying by powers of two is exact, so the gradient is exactly v * 2**k
    np.testing.assert_array_equal(x.grad.numpy(), v.numpy() * np.float32(2.0 ** k))
    assert x.grad.dtype is torch.float32
    assert repr(x.grad) == "tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])"

    assert x.requires_grad is True
    assert (x ** 2).requires_grad is True


def test_tutorial_vector_jacobian_product_exact_outputs():
    # x = (the tutorial's printed y) / 1024 reproduces every printed number of the tutorial
    x = torch.tensor([26.0017, -251.4094, 1184.7880]) / 1024
    x.requires_grad_(True)
    y, k = _vjp_loop(x)
    assert k == 10
    assert repr(y) == "tensor([  26.0017, -251.4094, 1184.7880], grad_fn=<MulBackward0>)"
    y.backward(torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float))
    assert repr(x.grad) == "tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])"
    d = x.detach()
    assert repr((x, d)) == ("(tensor([ 0.0254, -0.2455,  1.1570], requires_grad=True), "
                            "tensor([ 0.0254, -0.2455,  1.1570]))")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tutorial_vector_jacobian_product_random(seed):
    torch.manual_seed(seed)
    x = torch.randn(3, requires_grad=True)
    y, k = _vjp_loop(x)
    xn = x.detach().numpy()
    expected_k = 1
    while np.linalg.norm(xn * 2.0 ** expected_k) < 1000:
        expected_k += 1
    assert k == expected_k
    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
    y.backward(v)
    np.testing.assert_array_equal(x.grad.numpy(), v.numpy() * np.float32(2.0 ** k))


def test_tutorial_no_grad_and_detach(capsys):
    x = torch.tensor([0.0254, -0.2455, 1.1570], requires_grad=True)
    assert x.requires_grad is True
    assert (x ** 2).requires_grad is True
    with torch.no_grad():
        print((x ** 2).requires_grad)
    assert capsys.readouterr().out == "False\n"
    assert x.requires_grad is True

    y = x.detach()
    assert y.requires_grad is False
    assert repr(x.eq(y)) == "tensor([True, True, True])"
    assert repr((x, y)) == ("(tensor([ 0.0254, -0.2455,  1.1570], requires_grad=True), "
                            "tensor([ 0.0254, -0.2455,  1.1570]))")


# ---- the tutorial's cells as a script -------------------------------------------------------

def parse_tutorial(text: str):
    """[(cell number, code, expected output or None)] in document order.

    A cell is the lines after `In [N]:` up to the first blank line; its output is the next block
    of non-blank lines, unless that block starts the next cell.
    """
    lines = text.split("\n")
    cells = []
    i = 0
    while i < len(lines):
        m = re.fullmatch(r"In \[(\d+)\]:", lines[i].strip())
        if not m:
            i += 1
            continue
        i += 1
        code = []
        while i < len(lines) and lines[i].strip():
            code.append(lines[i])
            i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        output = None
        if i < len(lines) and not re.match(r"In \[\d+\]:", lines[i].strip()):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            output = "\n".join(block)
        cells.append((int(m.group(1)), "\n".join(code), output))
    return cells


MARK = "@@@ cell {} @@@"


def cell_script(cells) -> str:
    """A script running the cells in order, displaying each cell's last expression like IPython."""
    parts = []
    for number, code, _ in cells:
        code = re.sub(r"(?m)^import torch$", "import tracegrad as torch", code)
        tree = ast.parse(code)
        parts.append(f"print({MARK.format(number)!r})")
        last = tree.body[-1]
        if isinstance(last, ast.Expr):
            src = code.split("\n")
            head = "\n".join(src[:last.lineno - 1])
            expr = ast.get_source_segment(code, last)
            parts.append(head)
            parts.append(f"_value = ({expr})\nif _value is not None:\n    print(repr(_value))")
        else:
            parts.append(code)
    return "\n".join(parts) + "\n"


def run_script(script: str, tmp_path) -> dict:
    path = tmp_path / "tutorial.py"
    path.write_text(script)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])  # importable without an install too
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    outputs, current = {}, None
    for line in proc.stdout.split("\n"):
        m = re.fullmatch(r"@@@ cell (\d+) @@@", line)
        if m:
            current = int(m.group(1))
            outputs[current] = []
        elif current is not None:
            outputs[current].append(line)
    return {k: "\n".join(v).strip("\n") or None for k, v in outputs.items()}


def test_parse_tutorial():
    cells = parse_tutorial(TUTORIAL.read_text())
    numbers = [n for n, _, _ in cells]
    assert numbers == [1, 16, 17, 18, 19, 20, 9, 10, 11, 12, 13, 14, 21, 22, 23, 24, 25, 26,
                       27, 28, 30, 31, 32, 33, 34, 35]
    by_number = {n: (code, out) for n, code, out in cells}
    assert by_number[1] == ("import torch\ntorch.__version__", "'1.6.0'")
    assert by_number[21] == ("out.backward()", None)
    assert by_number[24][0] == "y = x*2\nwhile y.data.norm() < 1000:\n    y = y * 2\ny"
    assert by_number[30][1] == "False"
    assert by_number[35][1].count("\n") == 1


# Float elements as torch prints them (fixed or scientific notation).
E = r"-?(?:\d+\.\d*(?:e[+-]\d+)?|inf|nan)"


def _vec(n: int) -> str:
    return r"\[ *" + r", +".join([E] * n) + r"\]"


RANDOM_CELLS = {
    # cell: regex the displayed output must match (values depend on torch.randn)
    1: r"'\d+\.\d+\.\d+'",
    9: r"tensor\(\[" + _vec(2) + r",\n {8}" + _vec(2) + r"\]\)",
    12: r"tensor\(" + E + r", grad_fn=<SumBackward0>\)",
    24: r"tensor\(" + _vec(3) + r", grad_fn=<MulBackward0>\)",
    26: r"tensor\(" + _vec(3) + r"\)",
    35: r"\(tensor\(" + _vec(3) + r", requires_grad=True\), tensor\(" + _vec(3) + r"\)\)",
}
ADDRESS_CELLS = {18: "AddBackward0", 13: "SumBackward0"}


@pytest.fixture(scope="module")
def script_run(tmp_path_factory):
    cells = parse_tutorial(TUTORIAL.read_text())
    return cells, run_script(cell_script(cells), tmp_path_factory.mktemp("tutorial"))


def test_script_runs_and_every_cell_displays_as_in_the_tutorial(script_run):
    cells, outputs = script_run
    assert sorted(outputs) == sorted(n for n, _, _ in cells)
    checked = set()
    for number, _, expected in cells:
        got = outputs[number]
        if number in RANDOM_CELLS:
            assert expected is not None and got is not None, number
            assert re.fullmatch(RANDOM_CELLS[number], got), (number, got)
            # IPython's pretty printer wraps the (x, y) tuple after the comma; repr() does not
            pretty = re.sub(r"\),\n tensor", "), tensor", expected)
            assert re.fullmatch(RANDOM_CELLS[number], pretty), (number, expected)
        elif number in ADDRESS_CELLS:
            name = ADDRESS_CELLS[number]
            assert re.fullmatch(rf"<{name} at 0x[0-9a-f]+>", expected), expected
            assert re.fullmatch(rf"<{name} object at 0x[0-9a-f]+>", got), (number, got)
        else:
            assert got == expected, (number, got, expected)
        checked.add(number)
    assert checked == set(outputs)


def test_script_deterministic_cells(script_run):
    _, outputs = script_run
    assert outputs[16] == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    assert outputs[20] == "tensor(27., grad_fn=<MeanBackward0>)"
    assert outputs[22] == "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"
    assert outputs[10] == "False" and outputs[11] == "True"
    assert outputs[30] == "False" and outputs[33] == "False"
    assert outputs[34] == "tensor([True, True, True])"
    assert outputs[21] is None and outputs[23] is None and outputs[25] is None
    assert outputs[1] == repr(torch.__version__)
