"""Loss functions of `tracegrad.nn.functional`, composed from ops.

Each loss is written with elementwise ops, reductions and `log_softmax`, so it fuses and
compiles; the result's node is renamed to PyTorch's (`MseLossBackward0`, `NllLossBackward0`...).
Target classes are read with `gather` (bounds-checked in compiled code as well).
"""
from __future__ import annotations

import warnings

from ..ir import ops
from ..tensor import _overload, current_trace

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction: str):
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _warn_broadcast(input, target) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)


def mse_loss(input, target, reduction: str = "mean"):
    """Mean (or sum, or elementwise) squared error."""
    _check_reduction(reduction)
    _warn_broadcast(input, target)
    d = input - target
    return _overload(_reduce(d * d, reduction), "MseLossBackward0")


def l1_loss(input, target, reduction: str = "mean"):
    """Mean (or sum, or elementwise) absolute error; the gradient at equality is 0."""
    _check_reduction(reduction)
    _warn_broadcast(input, target)
    return _reduce(ops.abs(input - target), reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0 is the L1 loss)."""
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _warn_broadcast(input, target)
    if beta == 0:   # PyTorch computes the L1 loss (and names its nodes) here
        return _reduce(ops.abs(input - target), reduction)
    d = input - target
    a = ops.abs(d)
    loss = ops.where(a < beta, (0.5 / beta) * (d * d), a - 0.5 * beta)
    return _overload(_reduce(loss, reduction), "SmoothL1LossBackward0")


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 as in PyTorch."""
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
    if current_trace() is None and input._data is not None and input.numel() and not (
            (input._data >= 0).all() and (input._data <= 1).all()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = -(target * ops.clamp_min(ops.log(input), -100.0)
             + (1 - target) * ops.clamp_min(ops.log(1 - input), -100.0))
    if weight is not None:
        loss = loss * weight
    return _overload(_reduce(loss, reduction), "BinaryCrossEntropyBackward0")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """binary_cross_entropy(sigmoid(x), t) computed stably: (1 - t) x - w_t log_sigmoid(x),
    w_t = 1 + (pos_weight - 1) t."""
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    log_sig = ops.logsigmoid(input)
    if pos_weight is None:
        loss = (1 - target) * input - log_sig
    else:
        loss = (1 - target) * input - (1 + (pos_weight - 1) * target) * log_sig
    if weight is not None:
        loss = loss * weight
    return _overload(_reduce(loss, reduction), "BinaryCrossEntropyWithLogitsBackward0")


# ---- negative log likelihood / cross entropy ------------------------------------------------
def _class_dim(input) -> int:
    return 1 if input.ndim >= 2 else 0


def _check_targets(input, target, ignore_index) -> None:
    if target.dtype.is_floating_point or target.dtype.name == "bool":
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{target.dtype.scalar_name}")
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if input.ndim >= 2 and target.shape[:1] != input.shape[:1]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 0}).")
    want = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    if tuple(target.shape) != want:
        raise RuntimeError(f"Expected target size {list(want)}, got {list(target.shape)}")
    if current_trace() is None and target._data is not None:
        c = input.shape[_class_dim(input)]
        t = target._data
        bad = t[((t < 0) | (t >= c)) & (t != ignore_index)]
        if bad.size:
            raise IndexError(f"Target {bad.flat[0]} is out of bounds.")


def _nll(logp, target, weight, ignore_index, reduction):
    """Weighted negative log likelihood of the target classes, the mean's denominator (the
    counted weights) and the mask of counted targets. Targets are read with a bounds-checked
    `gather`, so compiled code raises for out-of-range ones too."""
    dim = _class_dim(logp)
    counted = target != ignore_index
    safe = ops.where(counted, target, 0)
    # the target index along the class dim, at every other position of logp
    where_class = tuple(target.shape[:1]) + (1,) + tuple(target.shape[1:]) \
        if logp.ndim >= 2 else (1,)
    picked = ops.gather(logp, ops.reshape(safe, shape=where_class), dims=(dim,), wrap=False,
                        error="target")
    picked = ops.reshape(picked, shape=tuple(target.shape))
    if weight is None:
        w = ops.where(counted, 1.0, 0.0)
        if w.dtype is not logp.dtype:
            w = ops.convert(w, dtype=logp.dtype)
    else:
        wt = ops.gather(weight, ops.reshape(safe, shape=(target.numel(),)), dims=(0,),
                        wrap=False, error="index")
        w = ops.where(counted, ops.reshape(wt, shape=tuple(target.shape)), 0.0)
    loss = -(picked * w)
    if reduction == "mean":
        return loss.sum() / w.sum(), w, counted
    return (loss.sum() if reduction == "sum" else loss), w, counted


def _check_weight(input, weight):
    c = input.shape[_class_dim(input)]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")


def _nll_name(input, reduction) -> str:
    """PyTorch's nll_loss_nd: 4-D input goes to nll_loss2d; 3-D or > 4-D is reshaped to 4-D
    (and the unreduced loss viewed back)."""
    if input.ndim <= 2:
        return "NllLossBackward0"
    if input.ndim != 4 and reduction == "none":
        return "ViewBackward0"
    return "NllLoss2DBackward0"


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """-input[n, target[n]] * weight[target[n]], reduced; `ignore_index` targets count zero
    and leave the mean's denominator (the sum of the counted weights)."""
    _check_reduction(reduction)
    _check_targets(input, target, ignore_index)
    _check_weight(input, weight)
    loss, _, _ = _nll(input, target, weight, ignore_index, reduction)
    return _overload(loss, _nll_name(input, reduction))


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """nll_loss(log_softmax(input, class dim), target) for class indices; for class
    probabilities, -sum(target * weight * log_softmax(input)) over the class dim. With
    `label_smoothing` e, the targets mix with the uniform distribution (weight e / C)."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    dim = _class_dim(input)
    _check_weight(input, weight)
    n_classes = input.shape[dim]
    logp = ops.log_softmax(input, dim=dim)
    if target.dtype.is_floating_point:
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, dim)
    _check_targets(input, target, ignore_index)
    loss, w, counted = _nll(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0.0:
        return _overload(loss, _nll_name(input, reduction))
    if weight is not None:
        shape = [1] * logp.ndim
        shape[dim] = n_classes
        logp = logp * (ops.reshape(weight, shape=tuple(shape)) if logp.ndim >= 2 else weight)
    smooth = ops.where(counted, -ops.reduce_sum(logp, dims=(dim,), keepdim=False), 0.0)
    if reduction == "mean":
        smooth = smooth.sum() / w.sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / n_classes)


def _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, dim):
    if tuple(target.shape) != tuple(logp.shape):
        raise RuntimeError(f"Expected target size {list(logp.shape)}, got "
                           f"{list(target.shape)}")
    n_classes = logp.shape[dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = logp * target
    if weight is not None:
        shape = [1] * logp.ndim
        shape[dim] = n_classes
        prod = prod * (ops.reshape(weight, shape=tuple(shape)) if logp.ndim >= 2 else weight)
    _check_reduction(reduction)
    if reduction == "none":
        return -ops.reduce_sum(prod, dims=(dim,), keepdim=False)
    if reduction == "sum":
        return -prod.sum()
    return _overload(-prod.sum() / float(logp.numel() // n_classes if n_classes else 0),
                  "DivBackward1")
