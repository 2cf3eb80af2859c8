"""The examples run and do what they say."""
from __future__ import annotations

import pathlib
import re
import runpy

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_mlp_example_trains_with_one_compilation(capsys):
    module = runpy.run_path(str(EXAMPLES / "mlp.py"))
    module["main"](steps=100)
    out = capsys.readouterr().out
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", out)]
    assert losses[0] > 1.0 and losses[-1] < 0.05
    assert "compiled 1 time(s) for 100 steps" in out


def test_mlp_and_cnn_example_losses_fall_with_compiled_steps(capsys):
    module = runpy.run_path(str(EXAMPLES / "train_mlp_cnn.py"))
    mlp, cnn = module["main"](mlp_steps=60, cnn_steps=40)
    assert mlp[-1] < 0.25 * mlp[0] and cnn[-1] < 0.8 * cnn[0]
    out = capsys.readouterr().out
    assert "step_loss compiled 2 time(s)" in out    # one specialization per model


def test_cnn_compiled_step_matches_eager():
    import numpy as np
    import tracegrad as tg
    module = runpy.run_path(str(EXAMPLES / "train_mlp_cnn.py"))
    tg.manual_seed(1)
    x, y = module["bars"](8)
    grads = []
    for step in (module["step_loss"], module["step_loss"].fn):
        tg.manual_seed(2)
        model = module["SmallCNN"]()
        loss = step(model, x, y)
        loss.backward()
        grads.append([loss.item()] + [p.grad.numpy() for p in model.parameters()])
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-5)
    for a, b in zip(grads[0][1:], grads[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
