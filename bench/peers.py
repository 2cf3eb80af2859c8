"""The implementations the suite times side by side, each a `Peer` whose `setup(workload,
data)` returns a step: a zero-argument callable doing one loss-and-gradients step as a user of
that library writes it, returning (loss, [gradient per workload.wrt]).

tracegrad (eager and compiled), PyTorch eager and torch.compile run the same loss code,
`torch_style_losses`; jax has its own; numpy by hand lives in workloads.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from workloads import Workload

PEER_NAMES = ("numpy by hand", "tracegrad compiled", "tracegrad eager", "torch eager",
              "torch.compile", "jax.jit")


class Unavailable(Exception):
    """A peer that cannot run here; the message says why."""


@dataclass
class Peer:
    name: str
    setup: Callable[[Workload, dict], Callable[[], tuple]]
    to_numpy: Callable  # a loss or gradient as the step returned it -> numpy value
    version: str = ""


def torch_style_losses(F) -> dict:
    """The workloads' losses written as a PyTorch user writes them, with `F` the library's
    `nn.functional`; tracegrad runs the very same code."""
    def w1(x):
        return (3 * (x + 2) ** 2).mean()

    def w2(x, w, b):
        return ((x * w + b).tanh() * x.sigmoid()).sum()

    def w3(x, labels, w1, b1, w2, b2):
        return F.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, labels)

    def w4(x, y, w1, b1, w2, b2):
        return F.mse_loss((x @ w1 + b1).tanh() @ w2 + b2, y)

    def w5(x, r, gamma, beta):
        return (F.layer_norm(x, (x.shape[-1],), gamma, beta) * r).sum()
    return {"w1": w1, "w2": w2, "w3": w3, "w4": w4, "w5": w5}


def _autograd_step(loss_fn, args, params):
    """loss = f(...); loss.backward(); read .grad (set to None first): the user's step."""
    def step():
        for p in params:
            p.grad = None
        loss = loss_fn(*args)
        loss.backward()
        return loss, [p.grad for p in params]
    return step


def _tensor_args(w: Workload, data: dict, from_numpy):
    args = {k: from_numpy(v.copy()) for k, v in data.items()}
    for k in w.wrt:
        args[k].requires_grad_()
    return [args[k] for k in w.inputs], [args[k] for k in w.wrt]


def numpy_peer() -> Peer:
    def setup(w, data):
        args = [data[k] for k in w.inputs]

        def step():
            loss, grads = w.by_hand(*args)
            return loss, [grads[k] for k in w.wrt]
        return step
    return Peer("numpy by hand", setup, np.asarray, np.__version__)


def tracegrad_peer(compiled: bool) -> Peer:
    import tracegrad as tg
    from tracegrad.nn import functional as F
    losses = torch_style_losses(F)

    def setup(w, data):
        args, params = _tensor_args(w, data, tg.from_numpy)
        fn = tg.compile(losses[w.kind]) if compiled else losses[w.kind]
        return _autograd_step(fn, args, params)
    name = "tracegrad compiled" if compiled else "tracegrad eager"
    return Peer(name, setup, lambda t: t.detach().numpy(), tg.__version__)


def torch_peer(compiled: bool) -> Peer:
    try:
        import torch
        from torch.nn import functional as F
    except ImportError as e:
        raise Unavailable(f"torch is not installed ({e})") from None
    losses = torch_style_losses(F)

    def setup(w, data):
        args, params = _tensor_args(w, data, torch.from_numpy)
        fn = torch.compile(losses[w.kind], dynamic=False) if compiled else losses[w.kind]
        return _autograd_step(fn, args, params)
    name = "torch.compile" if compiled else "torch eager"
    return Peer(name, setup, lambda t: t.detach().numpy(), torch.__version__)


def jax_peer() -> Peer:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        raise Unavailable(f"jax is not installed ({e})") from None

    def w3(x, labels, w1, b1, w2, b2):
        logp = jax.nn.log_softmax(jax.nn.relu(x @ w1 + b1) @ w2 + b2)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    def w5(x, r, gamma, beta):
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return jnp.sum(((x - mu) * jax.lax.rsqrt(var + 1e-5) * gamma + beta) * r)
    losses = {
        "w1": lambda x: jnp.mean(3 * (x + 2) ** 2),
        "w2": lambda x, w, b: jnp.sum(jnp.tanh(x * w + b) * jax.nn.sigmoid(x)),
        "w3": w3,
        "w4": lambda x, y, w1, b1, w2, b2: jnp.mean((jnp.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2),
        "w5": w5,
    }

    def setup(w, data):
        # jax keeps 32-bit integers unless x64 is enabled: labels become int32.
        args = [jnp.asarray(data[k].astype(np.int32) if data[k].dtype.kind == "i" else data[k])
                for k in w.inputs]
        argnums = tuple(w.inputs.index(k) for k in w.wrt)
        value_and_grad = jax.jit(jax.value_and_grad(losses[w.kind], argnums=argnums))

        def step():
            loss, grads = jax.block_until_ready(value_and_grad(*args))
            return loss, list(grads)
        return step
    return Peer("jax.jit", setup, np.asarray, jax.__version__)


def load(name: str) -> Peer:
    """The peer called `name`; raises Unavailable (with the reason) if it cannot run here."""
    return {"numpy by hand": numpy_peer,
            "tracegrad compiled": lambda: tracegrad_peer(True),
            "tracegrad eager": lambda: tracegrad_peer(False),
            "torch eager": lambda: torch_peer(False),
            "torch.compile": lambda: torch_peer(True),
            "jax.jit": jax_peer}[name]()
