"""The benchmark workloads W1-W5: their data, numpy forward and backward written by hand, and
the float64 reference every peer is checked against.

A workload is a loss of named float32 inputs and the gradients of some of them (`wrt`). The
numpy code below is dtype-generic: run on the float32 data it is the "numpy by hand" peer, run
on the same values cast to float64 it is the reference, itself checked by central differences
along random directions (so a mistake in a hand-written backward cannot pass silently).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Workload:
    """One benchmark case. `inputs` is the loss's argument order; `make` builds them from a
    seeded generator; `by_hand(*inputs)` returns (loss, {name: gradient}) for `wrt`."""
    id: str
    title: str
    inputs: tuple[str, ...]
    wrt: tuple[str, ...]
    make: Callable[[np.random.Generator], dict]
    by_hand: Callable
    kind: str  # which loss of the peers' definitions (w1..w5)

    def data(self, seed: int = 0) -> dict:
        return self.make(np.random.default_rng(seed))


def _normal(rng, *shape, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(np.float32)


# ---- numpy by hand -----------------------------------------------------------------------------
def w1_by_hand(x):
    t = x + 2
    loss = 3 * np.dot(t, t) / t.size
    t *= 6 / t.size
    return loss, {"x": t}


def w2_by_hand(x, w, b):
    th = x * w
    th += b
    np.tanh(th, out=th)
    s = np.exp(-x)
    s += 1
    np.reciprocal(s, out=s)  # sigmoid(x)
    loss = np.dot(th, s)
    th *= th
    gb = np.subtract(1, th, out=th)
    gb *= s
    return loss, {"w": gb * x, "b": gb}


def w3_by_hand(x, labels, w1, b1, w2, b2):
    h = x @ w1
    h += b1
    np.maximum(h, 0, out=h)
    z = h @ w2
    z += b2
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    se = e.sum(axis=1, keepdims=True)
    rows = np.arange(len(x))
    loss = np.mean(np.log(se[:, 0]) - z[rows, labels])
    dz = e / se
    dz[rows, labels] -= 1
    dz /= len(x)
    dh = dz @ w2.T
    dh *= h > 0
    return loss, {"w1": x.T @ dh, "b1": dh.sum(axis=0), "w2": h.T @ dz, "b2": dz.sum(axis=0)}


def w4_by_hand(x, y, w1, b1, w2, b2):
    h = np.tanh(x @ w1 + b1)
    d = h @ w2 + b2 - y
    loss = np.dot(d.ravel(), d.ravel()) / d.size
    d *= 2 / d.size
    dh = (d @ w2.T) * (1 - h * h)
    return loss, {"w1": x.T @ dh, "b1": dh.sum(axis=0), "w2": h.T @ d, "b2": d.sum(axis=0)}


EPS = 1e-5  # layer_norm's default epsilon, as every peer uses it


def w5_by_hand(x, r, gamma, beta):
    # In place where it can be: a fresh 16 MB temporary costs its page faults on every step.
    n = x.shape[1]
    xhat = x - x.mean(axis=1, keepdims=True)
    rstd = 1 / np.sqrt(np.einsum("ij,ij->i", xhat, xhat)[:, None] / n + EPS)
    xhat *= rstd
    buf = xhat * gamma
    buf += beta  # y
    loss = np.vdot(buf, r)
    g_beta = r.sum(axis=0)
    g_gamma = np.multiply(r, xhat, out=buf).sum(axis=0)
    dxhat = np.multiply(r, gamma, out=buf)
    m2 = np.einsum("ij,ij->i", dxhat, xhat)[:, None] / n
    gx = dxhat
    gx -= dxhat.mean(axis=1, keepdims=True)
    xhat *= m2
    gx -= xhat
    gx *= rstd
    return loss, {"x": gx, "gamma": g_gamma, "beta": g_beta}


# ---- the workloads -----------------------------------------------------------------------------
def _w1(n):
    return lambda rng: {"x": _normal(rng, n)}


def _w2(rng):
    n = 1_000_000
    return {"x": _normal(rng, n), "w": _normal(rng, n), "b": _normal(rng, n, scale=0.5)}


def _mlp(batch, sizes, classes):
    def make(rng):
        n_in, n_hidden, n_out = sizes
        data = {"x": _normal(rng, batch, n_in)}
        if classes:
            data["labels"] = rng.integers(0, n_out, batch).astype(np.int64)
        else:
            data["y"] = _normal(rng, batch, n_out)
        data.update(w1=_normal(rng, n_in, n_hidden, scale=n_in ** -0.5),
                    b1=_normal(rng, n_hidden, scale=0.1),
                    w2=_normal(rng, n_hidden, n_out, scale=n_hidden ** -0.5),
                    b2=_normal(rng, n_out, scale=0.1))
        return data
    return make


def _w5(rng):
    rows, cols = 4096, 1024
    return {"x": _normal(rng, rows, cols, scale=2.0, shift=0.5), "r": _normal(rng, rows, cols),
            "gamma": _normal(rng, cols, scale=0.1, shift=1.0),
            "beta": _normal(rng, cols, scale=0.1)}


_MLP = ("x", "labels", "w1", "b1", "w2", "b2")
_TINY = ("x", "y", "w1", "b1", "w2", "b2")
_WEIGHTS = ("w1", "b1", "w2", "b2")

WORKLOADS = {w.id: w for w in [
    Workload("W1-4", "W1 mean(3*(x+2)**2), N=4", ("x",), ("x",), _w1(4), w1_by_hand, "w1"),
    Workload("W1-1e7", "W1 mean(3*(x+2)**2), N=1e7", ("x",), ("x",), _w1(10_000_000),
             w1_by_hand, "w1"),
    Workload("W2", "W2 sum(tanh(x*w+b)*sigmoid(x)), N=1e6", ("x", "w", "b"), ("w", "b"), _w2,
             w2_by_hand, "w2"),
    Workload("W3-64", "W3 MLP 784-256-10 relu cross-entropy, batch 64", _MLP, _WEIGHTS,
             _mlp(64, (784, 256, 10), True), w3_by_hand, "w3"),
    Workload("W3-1024", "W3 MLP 784-256-10 relu cross-entropy, batch 1024", _MLP, _WEIGHTS,
             _mlp(1024, (784, 256, 10), True), w3_by_hand, "w3"),
    Workload("W4", "W4 MLP 16-16-1 tanh MSE, batch 8", _TINY, _WEIGHTS,
             _mlp(8, (16, 16, 1), False), w4_by_hand, "w4"),
    Workload("W5", "W5 layer_norm 4096x1024, sum(y*r)", ("x", "r", "gamma", "beta"),
             ("x", "gamma", "beta"), _w5, w5_by_hand, "w5"),
]}


# ---- the float64 reference and the check -------------------------------------------------------
def _as64(data: dict) -> dict:
    return {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in data.items()}


def reference(w: Workload, data: dict, directions: int = 2, seed: int = 1) -> tuple:
    """(loss, {name: gradient}) in float64 for `data`, after checking the hand-written gradient
    against central differences along random directions (raises AssertionError if off)."""
    d64 = _as64(data)
    args = [d64[k] for k in w.inputs]
    loss, grads = w.by_hand(*[a.copy() for a in args])
    rng = np.random.default_rng(seed)
    for _ in range(directions):
        dirs = {k: rng.standard_normal(d64[k].shape) for k in w.wrt}
        h = 1e-8 * max(1.0, max(np.abs(d64[k]).max() for k in w.wrt))

        def at(sign):
            moved = [d64[k] + sign * h * dirs[k] if k in dirs else d64[k] for k in w.inputs]
            return float(w.by_hand(*moved)[0])
        numeric = (at(1) - at(-1)) / (2 * h)
        analytic = sum(float(np.vdot(grads[k], dirs[k])) for k in w.wrt)
        # The directional derivative is ~|gradient| for normal directions; the differences are
        # off by the loss's rounding over 2h.
        tol = 1e-6 * np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())) + \
            1e3 * np.finfo(np.float64).eps * abs(float(loss)) / h
        assert abs(numeric - analytic) <= tol, (
            f"{w.id}: hand-written float64 gradient disagrees with central differences: "
            f"{analytic!r} vs {numeric!r}")
    return float(loss), grads


# A float32 sum of 1e7 terms is off by ~1e-5 relative even when done well (numpy's sdot on W1,
# pairwise sums on W5); a wrong gradient rule is off by far more.
LOSS_RTOL = 1e-4
GRAD_RTOL = 1e-4


def check(ref: tuple, loss, grads: dict) -> dict:
    """Compare one peer's float32 loss and gradients with the reference. Each error is relative
    (gradients: max abs difference over max abs reference value); `ok` if all are within
    tolerance and every gradient has the reference's shape."""
    ref_loss, ref_grads = ref
    errors = {"loss": abs(float(loss) - ref_loss) / max(abs(ref_loss), 1.0)}
    ok = errors["loss"] <= LOSS_RTOL and np.isfinite(float(loss))
    problems = []
    for k, g_ref in ref_grads.items():
        g = grads.get(k)
        if g is None:
            problems.append(f"no gradient for {k}")
            ok = False
            continue
        g = np.asarray(g)
        if g.shape != g_ref.shape:
            problems.append(f"gradient of {k} has shape {g.shape}, expected {g_ref.shape}")
            ok = False
            continue
        err = float(np.abs(g.astype(np.float64) - g_ref).max() / max(np.abs(g_ref).max(), 1e-30))
        errors[k] = err
        ok = ok and err <= GRAD_RTOL  # (NaN compares False)
    return {"ok": bool(ok), "errors": errors, "problems": problems}
