"""Named result tuples of the reductions that return values and indices (torch.return_types)."""
from __future__ import annotations

from collections import namedtuple


def _result(name: str):
    base = namedtuple(name, ["values", "indices"])

    def __repr__(self):
        return (f"tracegrad.return_types.{name}(\nvalues={self.values!r},\n"
                f"indices={self.indices!r})")

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                "__doc__": f"`{name}(dim)`'s result: (values, indices)."})


max = _result("max")
min = _result("min")
