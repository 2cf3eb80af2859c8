"""Thread-local gradient-recording switch: `no_grad`, `enable_grad`, `set_grad_enabled`."""
from __future__ import annotations

import functools
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set(enabled: bool) -> None:
    _state.enabled = bool(enabled)


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    enabled = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self.enabled)

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class _BareDecorator(_GradMode):
    """Usable as `@mode` as well as `@mode()` and `with mode():`."""

    def __new__(cls, func=None):
        return super().__new__(cls) if func is None else cls()(func)


class no_grad(_BareDecorator):
    """Disable gradient recording inside the block or decorated function."""

    enabled = False


class enable_grad(_BareDecorator):
    """Enable gradient recording inside the block or decorated function."""

    enabled = True


class set_grad_enabled(_GradMode):
    """Set grad mode to `mode`; takes effect immediately, like PyTorch, and as a context."""

    def __init__(self, mode: bool):
        self.enabled = bool(mode)
        self._prev = is_grad_enabled()
        _set(mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        _set(self._prev)  # used as a decorator: don't leak the mode set by __init__
        mode = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
