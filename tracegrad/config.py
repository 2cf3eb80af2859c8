"""Settings of compiled functions: `tracegrad.config.<name> = value` overrides the environment
variable, which is read when the setting is used (so it can change at run time).

| setting | environment variable | default |
|---|---|---|
| `disable_compile` | `TRACEGRAD_DISABLE_COMPILE=1` | False: compiled functions run eagerly when True |
| `log_recompiles` | `TRACEGRAD_LOG_RECOMPILES=1` | False: log every new trace and its reason |
| `recompile_limit` | `TRACEGRAD_RECOMPILE_LIMIT` | 8 specializations per function, then eager |
| `cache_dir` | `TRACEGRAD_CACHE_DIR` | `$XDG_CACHE_HOME/tracegrad` or `~/.cache/tracegrad` |
| `disk_cache` | `TRACEGRAD_DISK_CACHE=0` | True: compiled code is kept on disk between runs |
| `threads` | `TRACEGRAD_THREADS` | 2 (1 on a one-core machine): large kernels split across two threads |
| `fused_gradient` | `TRACEGRAD_FUSED_GRADIENT=0` | True: a scalar loss compiles with its gradients in one program |
"""
from __future__ import annotations

import os

_UNSET = object()


# os.environ's own dict of encoded names and values (POSIX): reading it skips the encoding
# os.environ.get does, which matters for the settings a compiled call reads every time.
_ENVIRON = getattr(os.environ, "_data", None) if os.name == "posix" else None


def _getenv(name: str) -> str | None:
    if _ENVIRON is None:
        return os.environ.get(name)
    value = _ENVIRON.get(name.encode())
    return None if value is None else os.fsdecode(value)


def _flag(name: str, default: bool) -> bool:
    value = _getenv(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def _default_cache_dir() -> str:
    if os.environ.get("TRACEGRAD_CACHE_DIR"):
        return os.environ["TRACEGRAD_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tracegrad")


def _threads() -> int:
    from .codegen import worker
    return worker.threads()


def _limit() -> int:
    value = os.environ.get("TRACEGRAD_RECOMPILE_LIMIT", "8")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"TRACEGRAD_RECOMPILE_LIMIT must be an integer, got {value!r}") from None


_DEFAULTS = {
    "disable_compile": lambda: _flag("TRACEGRAD_DISABLE_COMPILE", False),
    "log_recompiles": lambda: _flag("TRACEGRAD_LOG_RECOMPILES", False),
    "recompile_limit": _limit,
    "cache_dir": _default_cache_dir,
    "disk_cache": lambda: _flag("TRACEGRAD_DISK_CACHE", True),
    "fused_gradient": lambda: _flag("TRACEGRAD_FUSED_GRADIENT", True),
    "threads": lambda: _threads(),
}
_overrides: dict = {}


_DISABLE_KEY = b"TRACEGRAD_DISABLE_COMPILE"


def compile_disabled() -> bool:
    """`disable_compile`, read the cheap way (every compiled call asks)."""
    value = _overrides.get("disable_compile", _UNSET)
    if value is not _UNSET:
        return value
    if _ENVIRON is not None and _DISABLE_KEY not in _ENVIRON:
        return False
    return _flag("TRACEGRAD_DISABLE_COMPILE", False)


def __getattr__(name: str):
    if name in _DEFAULTS:
        value = _overrides.get(name, _UNSET)
        return _DEFAULTS[name]() if value is _UNSET else value
    raise AttributeError(f"tracegrad.config has no setting {name!r}")


class _Module(type(os)):
    def __setattr__(self, name, value):
        if name == "threads":   # compiled programs read it from the codegen layer
            from .codegen import worker
            worker.THREADS = None if value is None else max(1, int(value))
        if name in _DEFAULTS:
            _overrides[name] = value
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name):
        if name == "threads":
            from .codegen import worker
            worker.THREADS = None
        if name in _DEFAULTS:
            _overrides.pop(name, None)   # back to the environment / default
        else:
            super().__delattr__(name)


def reset() -> None:
    """Forget every setting made in Python: the environment and defaults apply again."""
    _overrides.clear()
    if "tracegrad.codegen.worker" in sys.modules:
        sys.modules["tracegrad.codegen.worker"].THREADS = None


import sys  # noqa: E402 - the module class swap must follow the definitions above

sys.modules[__name__].__class__ = _Module
