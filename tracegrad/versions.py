"""Version counters of tensor memory.

An in-place write bumps the counter of the memory it writes (shared by every view of it); a
recorded node keeps the versions of the arrays it saved, so a backward that would read an
overwritten value raises, as PyTorch's does, instead of giving a wrong gradient.
"""
from __future__ import annotations

import weakref

import numpy as np

# id(root array) -> [weak reference to it, version]; only arrays written in place appear.
_versions: dict[int, list] = {}


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def version(a: np.ndarray) -> int:
    if not _versions:
        return 0
    root = _root(a)
    entry = _versions.get(id(root))
    return entry[1] if entry is not None and entry[0]() is root else 0


def any_written() -> bool:
    """Whether any array has been written in place (else every version is 0)."""
    return bool(_versions)


def bump(a: np.ndarray) -> None:
    """Record an in-place write to `a`'s memory."""
    root = _root(a)
    key = id(root)
    entry = _versions.get(key)
    if entry is None or entry[0]() is not root:
        # The callback runs when the array is freed, before its id can be reused.
        entry = _versions[key] = [weakref.ref(root, lambda _, k=key: _versions.pop(k, None)), 0]
    entry[1] += 1


def snapshot(arrays) -> tuple | None:
    """The versions of `arrays` now; None when nothing was ever written in place (all 0)."""
    if not _versions:
        return None
    return tuple(0 if a is None else version(a) for a in arrays)
