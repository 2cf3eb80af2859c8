"""Test-session settings: compiled code is cached on disk in a temporary directory, never in
the user's cache; the IR verifier runs after every pass; and every IR function the pass pipeline sees during a test must survive a
print -> parse -> print round trip (checked when the test finishes)."""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tracegrad.codegen import program
from tracegrad.ir import OPS, parse_function
from tracegrad.ir import passes

# Property tests draw the same examples on every run (a landing must not depend on luck);
# HYPOTHESIS_PROFILE=explore searches afresh.
settings.register_profile("deterministic", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(autouse=True, scope="session")
def _private_disk_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TRACEGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("tracegrad-cache")))
    mp.setenv("TRACEGRAD_VERIFY", "1")   # the verifier runs after every pass of every test
    yield
    mp.undo()


def _printable(fn) -> bool:
    """Complete functions of registered ops (opaque and custom ops have no text form)."""
    if any(OPS.get(e.op.name) is not e.op for e in fn.eqns):
        return False
    try:
        fn.verify()
    except ValueError:   # a function under construction (its free values are not params)
        return False
    return True


@pytest.fixture(autouse=True)
def _ir_round_trip(monkeypatch):
    """Collect the functions the pipeline produces and those the backend compiles."""
    seen = []
    run, compile_ = passes.run_pipeline, program._compile

    def pipeline(fn, *args, **kwargs):
        out = run(fn, *args, **kwargs)
        seen.append(out)
        return out

    def compiling(fn, *args, **kwargs):
        seen.append(fn)
        return compile_(fn, *args, **kwargs)

    monkeypatch.setattr(passes, "run_pipeline", pipeline)
    monkeypatch.setattr(program, "_compile", compiling)
    yield
    for fn in seen:
        if _printable(fn):
            text = str(fn)
            try:
                again = parse_function(text)
            except ValueError as e:
                raise AssertionError(f"IR text does not parse back ({e}):\n{text}") from None
            assert str(again) == text, f"IR text does not round-trip:\n{text}\n---\n{again}"
            assert again.key() == fn.key()
