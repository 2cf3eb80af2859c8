"""The reference interpreter: `evaluate` and the reusable `Evaluator`."""
import numpy as np
import pytest

from tracegrad.ir import Eqn, Function, OPS, Var, evaluate, float32, parse_function
from tracegrad.ir.interpreter import Evaluator
from tracegrad.ir.types import TensorType


def test_one_equation_of_the_parameters_runs_directly_and_checks_its_arguments():
    fn = parse_function("""func @f(%a: f32[3], %b: f32[3]) -> (f32[3]) {
  %0: f32[3] = mul %a, %b
  return %0
}""")
    run = Evaluator(fn)
    a, b = np.array([1, 2, 3], np.float32), np.array([4, 5, -6], np.float32)
    np.testing.assert_array_equal(run([a, b])[0], np.array([4, 10, -18], np.float32))
    with pytest.raises(TypeError, match=r"f: argument of type float64\[3\] does not match"):
        run([a, b.astype(np.float64)])
    with pytest.raises(TypeError, match="f: expected 2 arguments, got 1"):
        run([a])


def test_reused_evaluator_gives_fresh_values_with_literals_and_a_repeated_parameter():
    t = TensorType((2,), float32)
    x, y, z = Var(t), Var(t), Var(t)
    two = parse_function("""func @g(%x: f32[2]) -> (f32[2]) {
  %0: f32[2] = mul %x, 2.0
  return %0
}""").eqns[0].inputs[1]
    # x appears twice among the parameters; the result list also returns a literal
    fn = Function("h", [x, x], [Eqn(OPS["mul"], [x, two], [y], {}),
                                 Eqn(OPS["add"], [y, x], [z], {})], [z, y, two])
    run = Evaluator(fn)
    first = run([np.array([1, 2], np.float32), np.array([1, 2], np.float32)])
    second = run([np.array([5, -1], np.float32), np.array([5, -1], np.float32)])
    np.testing.assert_array_equal(first[0], [3, 6])
    np.testing.assert_array_equal(first[1], [2, 4])
    assert first[2] == 2.0 and first[2].dtype == np.float32
    np.testing.assert_array_equal(second[0], [15, -3])
    np.testing.assert_array_equal(first[0], [3, 6])   # not overwritten by the second call
    ref = evaluate(fn, [np.array([5, -1], np.float32)] * 2)
    for got, want in zip(second, ref):
        np.testing.assert_array_equal(got, want)
