"""PyTorch-compatible ``repr`` for numpy-backed tensors.

A numpy port of ``torch/_tensor_str.py`` (PyTorch 2.13) for dense CPU tensors of
real dtypes, so tracegrad tensors print character-for-character like torch ones.
"""

import dataclasses
import math

import numpy as np

__all__ = ["tensor_repr", "set_printoptions"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: "bool | None" = None


_OPTS = _PrintOptions()

# Dtypes torch treats as default (float32 being torch's default float dtype):
# they print no `dtype=` suffix unless the tensor is empty.
_DEFAULT_DTYPES = (np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_))
_SUPPORTED_KINDS = "biuf"  # bool, signed/unsigned int, float; numpy names match torch's


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, sci_mode=None):
    """Set module-wide print options, with ``torch.set_printoptions`` semantics.

    Options left as ``None`` keep their value, except ``sci_mode``: like torch it is
    always overwritten, ``None`` meaning "choose automatically".
    """
    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    _OPTS.sci_mode = sci_mode


class _Formatter:
    """Chooses one notation and column width for all shown elements (torch's _Formatter)."""

    def __init__(self, flat):
        self.floating = flat.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        # Zeros and non-finite values take no part in picking the notation or the
        # width (so e.g. `nan` or `-0.` may be wider than the column).
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        magnitudes = np.abs(shown).astype(np.float64)
        lo, hi = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if _OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = _OPTS.sci_mode
        # tolist() yields Python floats holding the exact (float32) values, which is
        # what torch formats via Tensor.item().
        values = shown.tolist()
        p = _OPTS.precision
        if self.sci_mode:
            widths = [len(f"{v:.{p}e}") for v in values]
        elif self.int_mode:
            widths = [len(f"{v:.0f}") + 1 for v in values]  # +1 for the trailing "."
        else:
            widths = [len(f"{v:.{p}f}") for v in values]
        self.max_width = max(self.max_width, *widths)

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating:
            p = _OPTS.precision
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if math.isfinite(value):  # the "." marks a float dtype
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        else:
            ret = f"{value}"
        return ret.rjust(self.max_width)


def _summarized_data(a):
    """Flattened elements left visible by summarisation (torch's get_summarized_data)."""
    e = _OPTS.edgeitems
    if a.ndim == 0:
        return a.reshape(1)
    if a.ndim == 1:
        # With e == 0, a[-0:] is the whole row, as in torch.
        return np.concatenate((a[:e], a[-e:])) if len(a) > 2 * e else a
    if not e:
        return a.reshape(-1)[:0]
    rows = [*range(e), *range(len(a) - e, len(a))] if len(a) > 2 * e else range(len(a))
    return np.concatenate([_summarized_data(a[i]) for i in rows])


def _vector_str(a, indent, summarize, fmt):
    e = _OPTS.edgeitems
    # Each element takes its width plus ", ".
    per_line = max(1, math.floor((_OPTS.linewidth - indent) / (fmt.width() + 2)))
    if summarize and not e:
        data = ["..."]
    elif summarize and len(a) > 2 * e:
        data = (
            [fmt.format(v) for v in a[:e].tolist()]
            + [" ..."]
            + [fmt.format(v) for v in a[-e:].tolist()]
        )
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    e = _OPTS.edgeitems
    if summarize and len(a) > 2 * e:
        slices = (
            [_tensor_str_with_formatter(a[i], indent + 1, summarize, fmt) for i in range(e)]
            + ["..."]
            + [
                _tensor_str_with_formatter(a[i], indent + 1, summarize, fmt)
                for i in range(len(a) - e, len(a))
            ]
        )
    else:
        slices = [_tensor_str_with_formatter(s, indent + 1, summarize, fmt) for s in a]
    # Blocks of higher dimension are separated by ndim - 1 newlines.
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(a, indent):
    if a.size == 0:
        return "[]"
    summarize = a.size > _OPTS.threshold
    fmt = _Formatter(_summarized_data(a) if summarize else a.reshape(-1))
    return _tensor_str_with_formatter(a, indent, summarize, fmt)


def _add_suffixes(tensor_str, suffixes, indent):
    # torch's off-by-some line length (len - rfind + 1) is kept on purpose: it
    # decides when a suffix wraps onto its own line.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    parts = [tensor_str]
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > _OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(values: "np.ndarray", suffixes: "list[str]" = ()) -> str:
    """PyTorch-style repr of `values` (dtype float32, float64, int64 or bool).

    `suffixes` are extra `key=value` strings appended after any dtype suffix, e.g.
    ["requires_grad=True"] or ["grad_fn=<AddBackward0>"], in the given order.
    Other real numpy dtypes (float16, int8..int32, uint8) print as their torch
    counterparts would.
    """
    a = np.asarray(values)
    if a.dtype.kind not in _SUPPORTED_KINDS:
        raise TypeError(f"tensor_repr: unsupported dtype {a.dtype}")
    prefix = "tensor("
    indent = len(prefix)
    dtype_suffix = f"dtype=torch.{a.dtype.name}"
    extra = []
    if a.size == 0:
        # Like NumPy, the shape is shown unless it is (0,); with no elements to
        # go by, every non-float32 dtype is shown too.
        if a.ndim != 1:
            extra.append(f"size={tuple(a.shape)}")
        if a.dtype != np.float32:
            extra.append(dtype_suffix)
        body = "[]"
    else:
        if not _OPTS.edgeitems:  # nothing of the data is shown, so give the shape
            extra.append(f"size={tuple(a.shape)}")
        if a.dtype not in _DEFAULT_DTYPES:
            extra.append(dtype_suffix)
        body = _tensor_str(a, indent)
    return _add_suffixes(prefix + body, [*extra, *suffixes], indent)
