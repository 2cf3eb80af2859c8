"""nn.functional: linear, losses, layer_norm, batch_norm, embedding, dropout, attention."""
from __future__ import annotations

import numpy as np

from opinfo import E, OpInfo, S, arr

_I = dict(dtype=np.int64)


def F(m):
    return m.nn.functional


def _reduce(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)


def _log_softmax(x, axis):
    s = x - np.max(x, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


# ---- references ------------------------------------------------------------------------------
def _linear_ref(x, w, b=None):
    out = x @ w.T
    return out if b is None else out + b


def _smooth_l1_ref(x, t, reduction="mean", beta=1.0):
    d = np.abs(x - t)
    loss = d if beta == 0 else np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(loss, reduction)


def _bce_ref(x, t, w=None, reduction="mean"):
    loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    return _reduce(loss if w is None else loss * w, reduction)


def _bce_logits_ref(x, t, pw=None, reduction="mean"):
    log_sig = -np.logaddexp(0, -x)
    pw = 1.0 if pw is None else pw
    return _reduce((1 - t) * x - (1 + (pw - 1) * t) * log_sig, reduction)


def _nll_ref(logp, t, weight=None, ignore_index=-100, reduction="mean"):
    c = logp.shape[1] if logp.ndim >= 2 else logp.shape[0]
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    lp = np.moveaxis(logp, 1, -1) if logp.ndim >= 2 else logp
    safe = np.where(t == ignore_index, 0, t)
    picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    wt = np.where(t == ignore_index, 0.0, w[safe])
    loss = -picked * wt
    if reduction == "mean":
        return loss.sum() / wt.sum()
    return _reduce(loss, reduction)


def _ce_ref(x, t, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    dim = 1 if x.ndim >= 2 else 0
    logp = _log_softmax(x, dim)
    c = x.shape[dim]
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    wshape = [1] * x.ndim
    wshape[dim] = c
    if t.dtype.kind == "f":
        tt = t * (1 - label_smoothing) + label_smoothing / c
        loss = -np.sum(logp * tt * w.reshape(wshape), axis=dim)
        return loss.sum() / (x.size // c) if reduction == "mean" else _reduce(loss, reduction)
    nll = _nll_ref(logp, t, weight, ignore_index, reduction)
    smooth = np.where(t == ignore_index, 0.0, -np.sum(logp * w.reshape(wshape), axis=dim))
    if reduction == "mean":
        safe = np.where(t == ignore_index, 0, t)
        smooth = smooth.sum() / np.where(t == ignore_index, 0.0, w[safe]).sum()
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll + smooth * label_smoothing / c


def _layer_norm_ref(x, shape, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    out = (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=axes, keepdims=True) + eps)
    return out * (1 if w is None else w) + (0 if b is None else b)


def _batch_norm_ref(x, rm, rv, w=None, b=None, training=False, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    else:
        mu, var = np.reshape(rm, shape), np.reshape(rv, shape)
    out = (x - mu) / np.sqrt(var + eps)
    if w is not None:
        out = out * w.reshape(shape)
    return out + (0 if b is None else b.reshape(shape))


def _sdpa_ref(q, k, v, mask=None, is_causal=False, scale=None):
    s = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if is_causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


# ---- samples -----------------------------------------------------------------------------------
def _targets(n, c, *rest):
    return np.random.default_rng(n * 31 + c).integers(0, c, size=(n,) + rest)


def _probs(*shape):
    p = np.random.default_rng(sum(shape)).random(shape) + 0.1
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


_T4 = _targets(4, 5)
_T_IGNORE = np.array([1, -100, 4, 2])
_W5 = (0.5, 1.0, 2.0, 1.5, 0.25)


def _loss_infos():
    losses = []
    for name, fn, ref, gname in [
            ("mse_loss", lambda m, x, t, **kw: F(m).mse_loss(x, t, **kw),
             lambda x, t, reduction="mean": _reduce((x - t) ** 2, reduction), "MseLossBackward0"),
            ("l1_loss", lambda m, x, t, **kw: F(m).l1_loss(x, t, **kw),
             lambda x, t, reduction="mean": _reduce(np.abs(x - t), reduction), None)]:
        losses.append(OpInfo(
            f"F.{name}", fn, ref,
            [S(arr(3, 4), arr(3, 4)), S(arr(3, 4), arr(3, 4), reduction="sum"),
             S(arr(3, 4), arr(3, 4), reduction="none"), S(arr(), arr(), label="0d"),
             S(arr(2, 3), arr(2, 3), noncontiguous=True), S(arr(0, 3), arr(0, 3), reduction="sum",
                                                             label="empty")],
            errors=[E(ValueError, "not a valid value for reduction", arr(3), arr(3),
                      reduction="avg")],
            grad_fn=gname))
    return losses


OPS = [
    OpInfo("F.linear", lambda m, x, w, *b: F(m).linear(x, w, *b), _linear_ref,
           [S(arr(4, 5), arr(3, 5), arr(3), label="addmm"),
            S(arr(4, 5), arr(3, 5), label="nobias"),
            S(arr(2, 4, 5), arr(3, 5), arr(3), label="3d"),
            S(arr(2, 4, 5), arr(3, 5), label="3d_nobias"),
            S(arr(5), arr(3, 5), arr(3), label="1d"),
            S(arr(5, 4), arr(3, 4), arr(3), noncontiguous=True),
            S(arr(0, 5), arr(3, 5), arr(3), label="empty")],
           errors=[E(RuntimeError, r"\(4x5 and 6x3\)", arr(4, 5), arr(3, 6))]),
    *_loss_infos(),
    OpInfo("F.smooth_l1_loss", lambda m, x, t, **kw: F(m).smooth_l1_loss(x, t, **kw),
           _smooth_l1_ref,
           [S(arr(3, 4) * 2, arr(3, 4)), S(arr(3, 4), arr(3, 4), beta=0.5, reduction="sum"),
            S(arr(5), arr(5), beta=0.0, reduction="none", label="beta0")],
           errors=[E(RuntimeError, "negative values for beta", arr(3), arr(3), beta=-1.0)]),
    # weight and pos_weight are not differentiable in PyTorch: passed as tuples
    OpInfo("F.binary_cross_entropy",
           lambda m, x, t, *w, **kw: F(m).binary_cross_entropy(
               x, t, *[m.tensor(v, dtype=x.dtype) for v in w], **kw),
           lambda x, t, *w, **kw: _bce_ref(x, t, *[np.asarray(v) for v in w], **kw),
           [S(arr(3, 4, low=0.05, high=0.95), arr(3, 4, low=0, high=1)),
            S(arr(6, low=0.05, high=0.95), arr(6, low=0, high=1), (0.5, 1.0, 2.0, 1.5, 0.2, 3.0),
              reduction="sum", label="weight"),
            S(arr(2, 3, low=0.05, high=0.95), arr(2, 3, low=0, high=1), reduction="none")],
           errors=[E(RuntimeError, "between 0 and 1", arr(3, low=1.5, high=2), arr(3)),
                   E(ValueError, "different to the input size", arr(3, low=0, high=1), arr(2))],
           grad_fn="BinaryCrossEntropyBackward0"),
    OpInfo("F.binary_cross_entropy_with_logits",
           lambda m, x, t, *pw, **kw: F(m).binary_cross_entropy_with_logits(
               x, t, pos_weight=m.tensor(pw[0], dtype=x.dtype) if pw else None, **kw),
           lambda x, t, *pw, **kw: _bce_logits_ref(x, t, np.asarray(pw[0]) if pw else None,
                                                   **kw),
           [S(arr(3, 4) * 3, arr(3, 4, low=0, high=1)),
            S(arr(3, 4), arr(3, 4, low=0, high=1), (0.5, 2.0, 1.0, 3.0), reduction="sum",
              label="pos_weight"),
            S(arr(5) * 10, arr(5, low=0, high=1), reduction="none")],
           errors=[E(ValueError, "must be the same as input size", arr(3), arr(2))],
           grad_fn="BinaryCrossEntropyWithLogitsBackward0"),
    OpInfo("F.nll_loss", lambda m, x, t, **kw: F(m).nll_loss(x, t, **kw), _nll_ref,
           [S(arr(4, 5), _T4), S(arr(4, 5), _T_IGNORE, reduction="sum", label="ignore"),
            S(arr(4, 5), _T_IGNORE, label="ignore_mean"),
            S(arr(2, 3, 4), _targets(2, 3, 4), reduction="none", label="nd")],
           errors=[E(ValueError, r"batch_size \(4\) to match target batch_size \(3\)",
                     arr(4, 5), _targets(3, 5)),
                   E(IndexError, "Target 7 is out of bounds", arr(2, 5), np.array([1, 7])),
                   E(RuntimeError, "expected target dtype to be Long", arr(2, 5), arr(2))]),
    OpInfo("F.cross_entropy", lambda m, x, t, **kw: F(m).cross_entropy(x, t, **kw), _ce_ref,
           [S(arr(4, 5), _T4), S(arr(4, 5), _T4, reduction="sum"),
            S(arr(4, 5), _T_IGNORE, reduction="none", label="ignore"),
            S(arr(4, 5), _T_IGNORE, label="ignore_mean"),
            S(arr(5), np.array(3), label="unbatched"),
            S(arr(2, 3, 4), _targets(2, 3, 4), label="nd"),
            S(arr(2, 3, 2, 2), _targets(2, 3, 2, 2), reduction="none", label="2d"),
            S(arr(4, 5), _T4, noncontiguous=True)],
           errors=[E(RuntimeError, "label_smoothing must be between 0.0 and 1.0", arr(4, 5), _T4,
                     label_smoothing=1.5)]),
    OpInfo("F.cross_entropy[weight]",
           lambda m, x, t, w, **kw: F(m).cross_entropy(x, t, weight=m.tensor(w), **kw),
           lambda x, t, w, **kw: _ce_ref(x, t, weight=w, **kw),
           [S(arr(4, 5), _T4, _W5), S(arr(4, 5), _T_IGNORE, _W5, reduction="sum")],
           grad_fn="NllLossBackward0"),
    OpInfo("F.cross_entropy[label_smoothing]",
           lambda m, x, t, *w, **kw: F(m).cross_entropy(
               x, t, weight=m.tensor(w[0]) if w else None, label_smoothing=0.2, **kw),
           lambda x, t, *w, **kw: _ce_ref(x, t, weight=w[0] if w else None, label_smoothing=0.2,
                                          **kw),
           [S(arr(4, 5), _T4), S(arr(4, 5), _T_IGNORE, _W5, label="weight_ignore"),
            S(arr(4, 5), _T_IGNORE, reduction="none")],
           grad_fn="AddBackward0"),
    OpInfo("F.cross_entropy[probs]", lambda m, x, t, **kw: F(m).cross_entropy(x, t, **kw),
           _ce_ref,
           [S(arr(4, 5), _probs(4, 5)), S(arr(4, 5), _probs(4, 5), label_smoothing=0.1,
                                          label="smoothing"),
            S(arr(4, 5), _probs(4, 5), reduction="sum"),
            S(arr(2, 3, 4), _probs(2, 3, 4), reduction="none")]),
    OpInfo("F.layer_norm", lambda m, x, shape, *wb: F(m).layer_norm(x, shape, *wb),
           _layer_norm_ref,
           [S(arr(4, 5), (5,)), S(arr(2, 3, 4), (3, 4), arr(3, 4), arr(3, 4), label="affine"),
            S(arr(3, 6), (6,), arr(6), label="weight_only"),
            S(arr(4, 3), (3,), noncontiguous=True), S(arr(0, 5), (5,), label="empty")],
           errors=[E(RuntimeError, r"expected input with shape \[\*, 4\]", arr(4, 5), (4,)),
                   E(TypeError, "must be tuple of ints, not int", arr(4, 5), 5)],
           grad_fn="NativeLayerNormBackward0", rtol=1e-4, atol=1e-5),
    OpInfo("F.batch_norm",
           lambda m, x, rm, rv, *wb, **kw: F(m).batch_norm(
               x, None if rm is None else m.tensor(rm), None if rv is None else m.tensor(rv),
               *wb, **kw),
           _batch_norm_ref,
           [S(arr(4, 3), None, None, training=True, label="train"),
            S(arr(4, 3, 5), None, None, arr(3), arr(3), training=True, label="train_affine"),
            S(arr(2, 3, 2, 2), None, None, training=True, label="train_2d"),
            S(arr(4, 3, 2), (0.1, -0.2, 0.3), (1.5, 0.5, 2.0), arr(3), arr(3), label="eval")],
           errors=[E(ValueError, "more than 1 value per channel", arr(1, 3), None, None,
                     training=True),
                   E(RuntimeError, "running_mean must be defined", arr(4, 3), None, None)],
           grad_fn="NativeBatchNormBackward0", rtol=1e-4, atol=1e-5),
    OpInfo("F.embedding", lambda m, i, w, **kw: F(m).embedding(i, w, **kw),
           lambda i, w, padding_idx=None: w[i],
           [S(np.array([[1, 2], [0, 5]]), arr(6, 3)), S(np.array([1, 2, 1]), arr(4, 3)),
            S(np.array(2), arr(4, 3), label="0d"), S(np.zeros(0, np.int64), arr(4, 3),
                                                     label="empty")],
           errors=[E(IndexError, "index out of range", np.array([4]), arr(4, 2)),
                   E(RuntimeError, "Expected tensor for argument #1 'indices'", arr(2), arr(4, 2))],
           grad_fn="EmbeddingBackward0"),
    # The padding row gets no gradient although the output depends on it: finite differences
    # cannot check that (tests/test_nn.py compares the gradient with PyTorch).
    OpInfo("F.embedding[padding_idx]", lambda m, i, w, **kw: F(m).embedding(i, w, **kw),
           lambda i, w, padding_idx=None: w[i],
           [S(np.array([1, 2, 1, 0, 0]), arr(4, 2), padding_idx=0),
            S(np.array([3, 3, 1]), arr(4, 2), padding_idx=-1, label="negative")],
           differentiable=False, grad_fn=None),
    OpInfo("F.dropout", lambda m, x, **kw: F(m).dropout(x, **kw) * 2,
           lambda x, **kw: x * 2,
           [S(arr(3, 4), p=0.5, training=False), S(arr(3, 4), p=0.0)],
           errors=[E(ValueError, "has to be between 0 and 1", arr(3), p=1.5)]),
    OpInfo("F.scaled_dot_product_attention",
           lambda m, q, k, v, *mask, **kw: F(m).scaled_dot_product_attention(q, k, v, *mask, **kw),
           _sdpa_ref,
           [S(arr(2, 3, 4), arr(2, 5, 4), arr(2, 5, 6)),
            S(arr(1, 2, 4, 3), arr(1, 2, 4, 3), arr(1, 2, 4, 3), is_causal=True, label="causal"),
            S(arr(2, 3, 4), arr(2, 5, 4), arr(2, 5, 2), np.tril(np.ones((3, 5), bool)),
              label="bool_mask"),
            S(arr(2, 3, 4), arr(2, 5, 4), arr(2, 5, 2), arr(3, 5), label="float_mask"),
            S(arr(3, 4), arr(5, 4), arr(5, 2), scale=0.3, label="scale")],
           rtol=1e-4, atol=1e-5),
]


# ---- convolution and pooling -----------------------------------------------------------------
def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _windows_ref(x, k, s, d, pads, value=0.0):
    """(N, C, kh, kw, Ho, Wo) windows of x padded by pads ((top, bottom), (left, right))."""
    x = np.pad(x, ((0, 0), (0, 0)) + tuple(pads), constant_values=value)
    (kh, kw), (sh, sw), (dh, dw) = k, s, d
    ho = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.empty(x.shape[:2] + (kh, kw, ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i, j] = x[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                j * dw:j * dw + sw * (wo - 1) + 1:sw]
    return out


def _conv2d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    k, d, s = w.shape[2:], _pair(dilation), _pair(stride)
    if padding == "same":
        tot = [dd * (kk - 1) for kk, dd in zip(k, d)]
        pads = tuple((t // 2, t - t // 2) for t in tot)
    else:
        p = (0, 0) if padding == "valid" else _pair(padding)
        pads = ((p[0], p[0]), (p[1], p[1]))
    cols = _windows_ref(x, k, s, d, pads)
    n, c = x.shape[:2]
    o, cg = w.shape[:2]
    cols = cols.reshape(n, groups, cg, *cols.shape[2:])
    wg = w.reshape(groups, o // groups, cg, *k)
    out = np.einsum("ngcijyx,gocij->ngoyx", cols, wg).reshape(n, o, *cols.shape[-2:])
    if b is not None:
        out = out + b.reshape(1, o, 1, 1)
    return out[0] if unbatched else out


def _conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    pad = padding if isinstance(padding, str) else (0, padding)
    out = _conv2d_ref(x[..., None, :], w[..., None, :], b, (1, stride), pad, (1, dilation),
                      groups)
    return out[..., 0, :]


def _pool_size(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    return out - 1 if ceil and (out - 1) * s >= n + p else out


def _pool_windows(x, k, s, p, d, ceil, value):
    h, w = x.shape[-2:]
    out = [_pool_size(n, kk, ss, pp, dd, ceil) for n, kk, ss, pp, dd in zip((h, w), k, s, p, d)]
    pads = tuple((pp, max(pp, (oo - 1) * ss + dd * (kk - 1) + 1 - n - pp))
                 for n, kk, ss, pp, dd, oo in zip((h, w), k, s, p, d, out))
    win = _windows_ref(x, k, s, d, pads, value)
    return win[..., :out[0], :out[1]]


def _max_pool_ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    k = _pair(kernel_size)
    win = _pool_windows(x, k, k if stride is None else _pair(stride), _pair(padding),
                        _pair(dilation), ceil_mode, -np.inf)
    out = win.max(axis=(2, 3))
    return out[0] if unbatched else out


def _max_pool_indices_ref(x, kernel_size, stride=None, padding=0, dilation=1,
                          ceil_mode=False):
    k = _pair(kernel_size)
    args = (k, k if stride is None else _pair(stride), _pair(padding), _pair(dilation),
            ceil_mode)
    win = _pool_windows(x, *args, -np.inf)
    h, w = x.shape[-2:]
    pos = np.broadcast_to(np.arange(h * w, dtype=np.float64).reshape(1, 1, h, w), x.shape)
    pos = _pool_windows(pos, *args, -1.0)
    flat = win.reshape(win.shape[:2] + (-1,) + win.shape[-2:])
    first = np.argmax(flat, axis=2)[:, :, None]
    picked = np.take_along_axis(pos.reshape(flat.shape), first, axis=2)[:, :, 0]
    return _max_pool_ref(x, kernel_size, stride, padding, dilation, ceil_mode), \
        picked.astype(np.int64)


def _avg_pool_ref(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                  count_include_pad=True, divisor_override=None):
    if x.ndim == 3:
        return _avg_pool_ref(x[None], kernel_size, stride, padding, ceil_mode,
                             count_include_pad, divisor_override)[0]
    k, p = _pair(kernel_size), _pair(padding)
    s = k if stride is None else _pair(stride)
    win = _pool_windows(x, k, s, p, (1, 1), ceil_mode, 0.0)
    total = win.sum(axis=(2, 3))
    if divisor_override:
        return total / divisor_override
    divs = []
    for n, kk, ss, pp, oo in zip(x.shape[-2:], k, s, p, total.shape[-2:]):
        start = np.arange(oo) * ss - pp
        end = np.minimum(start + kk, n + pp)
        divs.append(end - start if count_include_pad
                    else np.minimum(end, n) - np.maximum(start, 0))
    return total / (divs[0][:, None] * divs[1][None, :])


def _adaptive_ref(x, output_size):
    oh, ow = _pair(output_size)
    h, w = x.shape[-2:]
    out = np.empty(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * h // oh, -(-(i + 1) * h // oh))
            cols = slice(j * w // ow, -(-(j + 1) * w // ow))
            out[..., i, j] = x[..., rows, cols].mean(axis=(-2, -1))
    return out


def _with_indices(m, x, *args, **kw):
    out, idx = F(m).max_pool2d(x, *args, return_indices=True, **kw)
    return out, idx


OPS += [
    OpInfo("F.conv2d", lambda m, x, w, *b, **kw: F(m).conv2d(x, w, *b, **kw), _conv2d_ref,
           [S(arr(2, 3, 6, 5), arr(4, 3, 3, 2), arr(4)),
            S(arr(1, 2, 7, 7), arr(3, 2, 3, 3), stride=2, padding=1, label="stride_pad"),
            S(arr(1, 2, 6, 6), arr(2, 2, 3, 3), padding="same", dilation=2, label="same"),
            S(arr(1, 2, 5, 6), arr(2, 2, 2, 3), padding="valid", label="valid"),
            S(arr(2, 4, 5, 5), arr(6, 2, 3, 3), arr(6), groups=2, stride=(2, 1),
              padding=(1, 0), label="groups"),
            S(arr(2, 5, 6), arr(3, 2, 3, 3), arr(3), label="unbatched"),
            S(arr(2, 2, 5, 5), arr(2, 2, 3, 3), noncontiguous=True)],
           errors=[E(RuntimeError, r"Expected 3D \(unbatched\) or 4D \(batched\) input",
                     arr(2, 3), arr(3, 2, 3, 3)),
                   E(RuntimeError, "to have 3 channels, but got 2 channels instead",
                     arr(1, 2, 5, 5), arr(3, 3, 3, 3)),
                   E(RuntimeError, "Kernel size can't be greater than actual input size",
                     arr(1, 2, 2, 2), arr(3, 2, 3, 3)),
                   E(RuntimeError, "not supported for strided convolutions", arr(1, 2, 5, 5),
                     arr(3, 2, 3, 3), stride=2, padding="same"),
                   E(RuntimeError, "expected scalar type Double but found Float",
                     arr(1, 2, 5, 5, dtype=np.float64), arr(3, 2, 3, 3))]),
    OpInfo("F.conv1d", lambda m, x, w, *b, **kw: F(m).conv1d(x, w, *b, **kw), _conv1d_ref,
           errors=[E(RuntimeError, "Expected 4-dimensional input for 4-dimensional weight",
                     arr(1, 2, 5), arr(3, 2, 3, 3))],
           samples=[S(arr(2, 3, 9), arr(4, 3, 3), arr(4)),
            S(arr(1, 4, 9), arr(2, 2, 2), stride=2, padding=1, dilation=2, groups=2,
              label="options"),
            S(arr(2, 7), arr(3, 2, 3), padding="same", label="unbatched_same")]),
    OpInfo("F.max_pool2d", lambda m, x, *a, **kw: F(m).max_pool2d(x, *a, **kw), _max_pool_ref,
           [S(arr(2, 3, 6, 6), 2), S(arr(1, 2, 7, 7), 3, 2, 1, label="pad"),
            S(arr(1, 2, 7, 6), 3, 2, 1, ceil_mode=True, label="ceil"),
            S(arr(1, 2, 7, 7), (3, 2), dilation=2, label="dilation"),
            S(arr(2, 5, 5), 2, 1, label="unbatched"), S(arr(2, 2, 4, 4), 2, noncontiguous=True)],
           errors=[E(RuntimeError, "pad should be at most half of effective kernel size",
                     arr(1, 2, 5, 5), 3, padding=2),
                   E(RuntimeError, "Output size is too small", arr(1, 2, 2, 2), 3),
                   E(RuntimeError, r"3D or 4D \(batch mode\) tensor expected", arr(5, 5), 2)],
           grad_fn="MaxPool2DWithIndicesBackward0"),
    OpInfo("F.max_pool2d[indices]", _with_indices,
           _max_pool_indices_ref,
           [S(arr(2, 2, 6, 5), 2), S(arr(1, 2, 7, 7), 3, 2, 1, ceil_mode=True, label="ceil")],
           grad_fn="MaxPool2DWithIndicesBackward0"),
    OpInfo("F.avg_pool2d", lambda m, x, *a, **kw: F(m).avg_pool2d(x, *a, **kw), _avg_pool_ref,
           [S(arr(2, 3, 6, 6), 2), S(arr(1, 2, 7, 7), 3, 2, 1, label="pad"),
            S(arr(1, 2, 7, 6), 3, 2, 1, ceil_mode=True, label="ceil"),
            S(arr(1, 2, 7, 6), 3, 2, 1, ceil_mode=True, count_include_pad=False,
              label="exclude_pad"),
            S(arr(1, 2, 6, 6), 3, 3, divisor_override=4, label="divisor"),
            S(arr(2, 5, 5), 2, 1, label="unbatched")],
           grad_fn="AvgPool2DBackward0"),
    OpInfo("F.adaptive_avg_pool2d", lambda m, x, size: F(m).adaptive_avg_pool2d(x, size),
           _adaptive_ref,
           [S(arr(2, 3, 7, 5), (3, 2)), S(arr(2, 6, 6), 3, label="unbatched"),
            S(arr(1, 2, 5, 7), (5, 4), label="overlap")],
           grad_fn="AdaptiveAvgPool2DBackward0"),
]
