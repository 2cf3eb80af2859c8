"""`gradcheck` and `gradgradcheck`: gradients from autograd against float64 central
differences, with PyTorch's default tolerances and messages."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    """A gradient disagrees with finite differences (PyTorch raises the same kind)."""


def _outputs(fn, inputs) -> list:
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _differentiable(inputs) -> list:
    from ..tensor import Tensor
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _numerical(fn, inputs, wrt: list, eps: float) -> list:
    """Per output, per input: the Jacobian d out / d in (out.numel x in.numel) by central
    differences, perturbing each element of the input's memory in turn."""
    # Grad mode stays on: `fn` may itself differentiate (gradgradcheck's does).
    base = [o.detach().numpy().astype(np.float64) for o in _outputs(fn, inputs)]
    jac = [[np.zeros((o.size, inputs[i].numel())) for i in wrt] for o in base]
    for k, i in enumerate(wrt):
        flat = inputs[i]._data.reshape(-1)
        if not np.shares_memory(flat, inputs[i]._data):
            raise ValueError(f"gradcheck: input {i} is not contiguous; pass a contiguous leaf")
        for j in range(flat.size):
            orig = flat[j]
            values = []
            for delta in (eps, -eps):
                flat[j] = orig + delta
                values.append([o.detach().numpy().astype(np.float64).reshape(-1)
                               for o in _outputs(fn, inputs)])
            flat[j] = orig
            for m, (plus, minus) in enumerate(zip(*values)):
                jac[m][k][:, j] = (plus - minus) / (2 * eps)
    return jac


def _analytical(fn, inputs, wrt: list) -> list:
    """The same Jacobians from autograd: one `grad` call per output element."""
    from . import grad
    from ..tensor import Tensor
    outs = _outputs(fn, inputs)
    jac = [[np.zeros((o.numel(), inputs[i].numel())) for i in wrt] for o in outs]
    for m, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for r in range(o.numel()):
            seed = np.zeros(o.numel(), o.dtype.np)
            seed[r] = 1
            gs = grad([o], [inputs[i] for i in wrt],
                      [Tensor._make(seed.reshape(tuple(o.shape)))], retain_graph=True,
                      allow_unused=True)
            for k, g in enumerate(gs):
                if g is not None:
                    jac[m][k][r] = g.detach().numpy().reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Check the gradients of `func(*inputs)` with respect to the inputs that require grad
    against central differences. Inputs that require grad must be float64 leaves."""
    from ..tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = _differentiable(inputs)
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of the them have requires_grad=True.")
    for i in wrt:
        t = inputs[i]
        if t.dtype.name != "float64":
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          f"point. This check will likely fail if all the inputs are not of "
                          f"double precision floating point. ", UserWarning, stacklevel=2)
        if not isinstance(t, Tensor) or not t.is_leaf:
            raise ValueError(f"gradcheck: input {i} must be a leaf tensor")
    numerical = _numerical(func, inputs, wrt, eps)
    analytical = _analytical(func, inputs, wrt)
    for m, (num_row, ana_row) in enumerate(zip(numerical, analytical)):
        for k, (n, a) in enumerate(zip(num_row, ana_row)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {m} with respect to input {wrt[k]},\n"
                    f"numerical:{n!r}\nanalytical:{a!r}\n")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> the vector-Jacobian
    products of `func`, computed with `create_graph=True`."""
    from . import grad
    from ..tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = _differentiable(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor._make(rng.standard_normal(tuple(o.shape)).astype(o.dtype.np))
                        .requires_grad_(True) for o in outs if o.requires_grad]
    grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) \
        else [grad_outputs]
    n = len(inputs)

    def vjp(*args):
        xs, cts = args[:n], args[n:]
        ys = [o for o in _outputs(func, xs) if o.requires_grad]
        gs = grad(ys, [xs[i] for i in wrt], list(cts), create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor._make(np.zeros(tuple(xs[i].shape),
                                                                  xs[i].dtype.np))
                     for g, i in zip(gs, wrt))

    return gradcheck(vjp, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
