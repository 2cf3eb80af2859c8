"""`guard`: a Python-visible decision a traced function took, kept as a value in the IR.

When traced code converts a tensor to Python (`bool()`, `.item()`...), tracing evaluates the
value on the concrete inputs and records `guard[expect=..., at=...] %pred`, where `%pred` is a
0-d bool that is True exactly when a new input would take the same path. Compiled programs
return every guard's value; a call whose guards disagree with `expect` re-specializes.
"""
from __future__ import annotations

import numpy as np

from ..op import defop
from ..types import TensorType, bool_


def _guard_type(pred, expect, at):
    if pred.dtype is not bool_ or pred.shape != ():
        raise TypeError(f"guard expects a 0-d bool predicate, got {pred}")
    return TensorType((), bool_)


guard = defop("guard", kind="elementwise", infer=_guard_type,
              impl=lambda pred, expect, at: np.asarray(pred, dtype=np.bool_),
              lower=lambda e, pred, expect, at: pred)
