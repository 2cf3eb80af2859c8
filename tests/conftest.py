"""Test-session settings: compiled code is cached on disk in a temporary directory, never in
the user's cache."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_disk_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TRACEGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("tracegrad-cache")))
    yield
    mp.undo()
