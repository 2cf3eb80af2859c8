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
