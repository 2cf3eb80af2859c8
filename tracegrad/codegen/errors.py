"""Errors raised by the code generator."""


class UnsupportedError(NotImplementedError):
    """An op (or a use of one) the code generator cannot lower; the message names the op."""

    def __init__(self, op: str, reason: str):
        super().__init__(f"codegen: cannot lower '{op}': {reason}")
        self.op = op
        self.reason = reason
