"""The pass pipeline, written as IR text in, IR text out."""
from __future__ import annotations

import io
import textwrap

import numpy as np
import pytest

import tracegrad as tg
from tracegrad.ir import evaluate, parse_function
from tracegrad.ir.passes import PASSES, run_pipeline


def ir(text: str):
    return parse_function(textwrap.dedent(text))


def optimized(text: str) -> str:
    return str(run_pipeline(ir(text)))


def body(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines()[1:-1]]


def test_golden_adjoint_of_the_tutorial_function():
    f = tg.compile(lambda x: (3 * (x + 2) ** 2).mean())
    adjoint = f.stages(tg.ones(4, requires_grad=True))["adjoint"]
    assert [line.split("  #")[0] for line in adjoint.splitlines()] == [
        "func @lambda_vjp(%arg0: f32[4], %ct: f32[]) -> (f32[4]) {",
        "  %0: f32[4] = mul %arg0, %ct",        # (x + 2) * ct
        "  %1: f32[4] = mul %0, 1.5",           # * 6 / N
        "  return %1",
        "}"]


@pytest.mark.parametrize("line, result", [
    ("mul %x, 1.0", "%x"),
    ("mul 1.0, %x", "%x"),
    ("div %x, 1.0", "%x"),
    ("sub %x, 0.0", "%x"),
    ("add %x, -0.0", "%x"),
    ("pow %x, 1.0", "%x"),
    ("reshape[shape=(4,)] %x", "%x"),
    ("convert[dtype=f32] %x", "%x"),
])
def test_identities_that_hold_bit_for_bit(line, result):
    out = optimized(f"""
        func @f(%x: f32[4]) -> (f32[4]) {{
          %0: f32[4] = {line}
          return %0
        }}""")
    assert body(out) == [f"return {result}"]


@pytest.mark.parametrize("line", ["add %x, 0.0", "mul %x, 0.0", "sub %x, -0.0"])
def test_rewrites_that_would_change_signed_zeros_or_nans_are_not_made(line):
    out = optimized(f"""
        func @f(%x: f32[4]) -> (f32[4]) {{
          %0: f32[4] = {line}
          return %0
        }}""")
    assert body(out)[0].endswith(line)


def test_integer_multiply_by_zero_folds():
    out = optimized("""
        func @f(%x: i64[3]) -> (i64[3]) {
          %0: i64[3] = mul %x, 0
          return %0
        }""")
    assert body(out) == ["%0: i64[3] = full[shape=(3,), dtype=i64, value=0]", "return %0"]


def test_chains_and_double_negation():
    out = optimized("""
        func @f(%x: f32[2,3]) -> (f32[3,2], f32[6], f32[2,3]) {
          %0: f32[3,2] = transpose[perm=(1, 0)] %x
          %1: f32[2,3] = transpose[perm=(1, 0)] %0
          %2: f32[3,2] = transpose[perm=(1, 0)] %1
          %3: f32[3,2] = reshape[shape=(3, 2)] %x
          %4: f32[6] = reshape[shape=(6,)] %3
          %5: f32[2,3] = neg %x
          %6: f32[2,3] = neg %5
          return %2, %4, %6
        }""")
    assert body(out) == ["%0: f32[3,2] = transpose[perm=(1, 0)] %x",
                         "%1: f32[6] = reshape[shape=(6,)] %x",
                         "return %0, %1, %x"]


def test_small_integer_powers_become_multiplies():
    out = optimized("""
        func @f(%x: f32[4]) -> (f32[4], f32[4], f32[4]) {
          %0: f32[4] = pow %x, 2.0
          %1: f32[4] = pow %x, 3.0
          %2: f32[4] = pow %x, -1.0
          return %0, %1, %2
        }""")
    assert body(out) == ["%0: f32[4] = mul %x, %x", "%1: f32[4] = mul %0, %x",
                         "%2: f32[4] = div 1.0, %x", "return %0, %1, %2"]


def test_constant_factors_gather_and_scalar_broadcasts_sink():
    out = optimized("""
        func @f(%x: f32[4], %ct: f32[]) -> (f32[4]) {
          %0: f32[1] = reshape[shape=(1,)] %ct
          %1: f32[4] = broadcast_to[shape=(4,)] %0
          %2: f32[4] = div %1, 4.0
          %3: f32[4] = mul 3.0, %2
          %4: f32[4] = mul 2.0, %x
          %5: f32[4] = mul %3, %4
          return %5
        }""")
    assert body(out) == ["%0: f32[4] = mul %x, %ct", "%1: f32[4] = mul %0, 1.5", "return %1"]


def test_constant_folding():
    out = optimized("""
        func @f(%x: f32[3]) -> (f32[3]) {
          %0: f32[3] = full[shape=(3,), dtype=f32, value=2.0]
          %1: f32[3] = exp %0
          %2: f32[3] = add %1, 1.0
          %3: f32[3] = mul %x, %2
          return %3
        }""")
    lines = body(out)
    assert len(lines) == 2 and lines[0].startswith("%0: f32[3] = mul %x, 8.389")
    # folded in float32, step by step, as the program would compute it
    assert np.float32(lines[0].split(", ")[1]) == np.exp(np.float32(2.0)) + np.float32(1.0)


def test_cse_and_dead_code():
    out = optimized("""
        func @f(%x: f32[3], %y: f32[3]) -> (f32[3]) {
          %0: f32[3] = add %x, %y
          %1: f32[3] = add %y, %x
          %2: f32[3] = exp %x
          %3: f32[3] = mul %0, %1
          return %3
        }""")
    assert body(out) == ["%0: f32[3] = add %x, %y", "%1: f32[3] = mul %0, %0", "return %1"]


def test_canonical_order_makes_equal_programs_hash_equal():
    a = run_pipeline(ir("""
        func @f(%x: f32[3], %y: f32[3]) -> (f32[3]) {
          %0: f32[3] = exp %x
          %1: f32[3] = log %y
          %2: f32[3] = add %1, %0
          return %2
        }"""))
    b = run_pipeline(ir("""
        func @f(%x: f32[3], %y: f32[3]) -> (f32[3]) {
          %0: f32[3] = log %y
          %1: f32[3] = exp %x
          %2: f32[3] = add %1, %0
          return %2
        }"""))
    assert str(a) == str(b) and a.key() == b.key()


def test_pipeline_keeps_values():
    text = """
        func @f(%x: f32[4], %ct: f32[]) -> (f32[4]) {
          %0: f32[4] = add %x, 2.0
          %1: f32[4] = pow %0, 3.0
          %2: f32[4] = neg %1
          %3: f32[4] = neg %2
          %4: f32[4] = mul %3, %ct
          %5: f32[4] = div %4, 8.0
          %6: f32[4] = mul %5, 3.0
          return %6
        }"""
    x = np.array([0.5, -1.0, 2.0, 3.5], np.float32)
    ct = np.array(1.25, np.float32)
    want = evaluate(ir(text), [x, ct])[0]
    got = evaluate(run_pipeline(ir(text)), [x, ct])[0]
    np.testing.assert_allclose(got, want, rtol=2e-7)


def test_print_after_all_and_verify():
    out = io.StringIO()
    run_pipeline(ir("""
        func @f(%x: f32[4]) -> (f32[4]) {
          %0: f32[4] = mul %x, 1.0
          return %0
        }"""), print_after_all=True, verify=True, out=out)
    dumps = [line for line in out.getvalue().splitlines() if line.startswith("// -----")]
    assert dumps[:4] == ["// ----- IR after algebraic -----", "// ----- IR after constant-folding -----",
                         "// ----- IR after cse -----", "// ----- IR after dce -----"]
    assert dumps[-1] == "// ----- IR after canonicalize -----"


def test_verifier_names_the_pass_that_broke_the_ir(monkeypatch):
    from tracegrad.ir import Function

    def broken(fn):
        return Function(fn.name, fn.params, fn.eqns[1:], fn.results)
    monkeypatch.setitem(PASSES, "algebraic", broken)
    monkeypatch.setenv("TRACEGRAD_VERIFY", "1")
    with pytest.raises(ValueError, match="IR invalid after pass 'algebraic'"):
        run_pipeline(ir("""
            func @f(%x: f32[4]) -> (f32[4]) {
              %0: f32[4] = exp %x
              %1: f32[4] = exp %0
              return %1
            }"""))


def test_provenance_comments_round_trip():
    def loss(x):
        return (x.exp() * 3).sum()
    f = tg.compile(loss)
    stages = f.stages(tg.ones(3, requires_grad=True))
    assert "# test_passes.py:" in stages["traced"]
    assert "# vjp of exp at test_passes.py:" in stages["adjoint"]
    spec = f.specializations[0]
    for fn in (spec.recorded, spec.adjoint.fn):
        assert str(parse_function(str(fn))) == str(fn)


@pytest.mark.parametrize("text, message", [
    ("""func @f(%x: f32[4]) -> (f32[4]) {
          %0: f32[4] = exp %1
          %1: f32[4] = exp %x
          return %0
        }""", "used before it is defined"),
    ("""func @f(%x: f32[4]) -> (f32[3]) {
          %0: f32[3] = exp %x
          return %0
        }""", r"line 2: exp: result types f32\[3\] but the type rule gives f32\[4\] \(rule: types\)"),
    ("""func @f(%x: f32[4], %y: f32[3]) -> (f32[4]) {
          %0: f32[4] = add %x, %y
          return %0
        }""", r"line 2: add: The size of tensor a \(4\) must match .* \(rule: types\)"),
    ("""func @f(%x: f32[4]) -> (f32[4]) {
          %0: f32[4] = reshape %x
          return %0
        }""", r"line 2: reshape: .*shape.* \(rule: arity and attributes\)"),
])
def test_verifier_errors_name_the_line_and_rule(text, message):
    with pytest.raises(ValueError, match=message):
        parse_function(text)


# ---- property: random programs keep their values through the pipeline -----------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402

from test_random_graphs import assert_same, program_fn, programs  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_keep_their_values_through_the_pipeline(program):
    from tracegrad.codegen import compile_function
    inputs, steps, outs = program
    args = [tg.tensor(a.copy()) for a, _ in inputs]
    traced = tg.compile(program_fn(steps, outs)).trace(args)
    params = [np.asarray(a) for a, _ in inputs] + [t.numpy() for t in traced.captured]
    with np.errstate(all="ignore"):
        before = evaluate(traced.recorded, params)
        after = evaluate(traced.fn, params)
        compiled = compile_function(traced.fn)(*params)
    single = any(a.dtype == np.float32 for a, _ in inputs)
    for b, a, c in zip(before, after, compiled):
        assert_same(a, b, single)
        assert_same(c, b, single)
