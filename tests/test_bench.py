"""The benchmark suite (bench/suite.py) in quick mode: it runs, checks every peer against the
float64 reference, and writes the JSON it documents. Timings are not asserted."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
PEERS = ("numpy by hand", "tracegrad compiled", "tracegrad eager")


@pytest.fixture(scope="module")
def workloads():
    sys.path.insert(0, str(BENCH))
    try:
        import workloads
        yield workloads
    finally:
        sys.path.remove(str(BENCH))


def test_quick_run_writes_checked_results(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(BENCH / "suite.py"), "--quick", "--workloads",
                           "W1-4,W4", "--peers", ",".join(PEERS), "--json", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for heading in ("Milliseconds per warm step", "Ratio to numpy by hand",
                    "Targets for tracegrad compiled"):
        assert heading in proc.stdout
    res = json.loads(out.read_text())
    assert list(res["workloads"]) == ["W1-4", "W4"] and res["threads"] == 2
    assert res["missing"] == {name: "not selected (--peers)"
                              for name in ("torch eager", "torch.compile", "jax.jit")}
    w1 = res["workloads"]["W1-4"]
    assert w1["reference_loss"] == pytest.approx(14.557648074422637, rel=1e-12)
    for wid, w in res["workloads"].items():
        for name in PEERS:
            r = w["results"][name]
            assert r["check"]["ok"], (wid, name, r)
            assert set(r["check"]["errors"]) >= {"loss"}
            assert max(r["check"]["errors"].values()) < 1e-4
            assert r["ms"] == pytest.approx(float(np.median(r["samples_ms"])))
            assert len(r["samples_ms"]) >= 3 and r["first_call_s"] > 0
            assert r["faults_per_step"] >= 0
        for name in res["missing"]:
            assert w["results"][name] == {"missing": "not selected (--peers)"}
    assert set(res["workloads"]["W4"]["results"]["tracegrad eager"]["check"]["errors"]) == {
        "loss", "w1", "b1", "w2", "b2"}
    targets = {(t["workload"], t["target"]): t for t in res["targets"]}
    assert targets["W1-4", "<= 1.2x jax.jit"]["status"] == "n/a"
    w4 = targets["W4", "<= 1.0x numpy by hand"]
    ms = {n: r["ms"] for n, r in res["workloads"]["W4"]["results"].items() if "ms" in r}
    assert w4["ratio"] == pytest.approx(ms["tracegrad compiled"] / ms["numpy by hand"])
    assert w4["status"] == ("met" if w4["ratio"] <= 1.0 else "missed")


def test_check_flags_a_wrong_gradient(workloads):
    w = workloads.WORKLOADS["W4"]
    data = w.data()
    ref = workloads.reference(w, data)
    loss, grads = w.by_hand(*[data[k] for k in w.inputs])
    assert workloads.check(ref, loss, grads)["ok"]
    grads["b1"] = grads["b1"] * np.float32(1.001)
    result = workloads.check(ref, loss, grads)
    assert not result["ok"] and result["errors"]["b1"] == pytest.approx(1e-3, rel=0.01)
    del grads["w2"]
    assert workloads.check(ref, loss, grads)["problems"] == ["no gradient for w2"]


def test_reference_rejects_a_wrong_hand_written_gradient(workloads):
    w = workloads.WORKLOADS["W3-64"]

    def off_by_a_bit(*args):
        loss, grads = w.by_hand(*args)
        return loss, {**grads, "w2": grads["w2"] * 1.001}
    broken = dataclasses.replace(w, by_hand=off_by_a_bit)
    with pytest.raises(AssertionError, match="central differences"):
        workloads.reference(broken, w.data())


@pytest.mark.parametrize("wid", ["W2", "W3-1024", "W5"])
def test_numpy_by_hand_matches_the_checked_reference(workloads, wid):
    # (W1 and W4 run in the quick run above; W1 at N=1e7 is the same code as at N=4.)
    w = workloads.WORKLOADS[wid]
    data = w.data()
    ref = workloads.reference(w, data)
    loss, grads = w.by_hand(*[data[k] for k in w.inputs])
    assert loss.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())
    result = workloads.check(ref, loss, grads)
    assert result["ok"] and set(result["errors"]) == {"loss", *w.wrt}, result
