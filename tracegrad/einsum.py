"""`tracegrad.einsum`: Einstein summation as reshapes, transposes, sums and matrix products.

Each operand first loses its repeated subscripts (the diagonal, selected exactly with `where`)
and the subscripts nothing else needs (summed); operands are then contracted pairwise, left to
right: shared subscripts that are kept become batch dims, summed ones the inner dimension of
one `matmul`. An ellipsis stands for fresh subscripts (broadcast across operands).
"""
from __future__ import annotations

import math
import string

import numpy as np

from .ir import ops
from .tensor import _overload, tensor


def _expand_ellipses(terms, operands, used: str):
    """Terms with each '...' replaced by letters not in the equation (right-aligned, so the
    ellipsis dims of different operands broadcast), and those letters."""
    free = (c for c in string.ascii_letters if c not in used)
    spans = []
    for k, (t, x) in enumerate(zip(terms, operands)):
        head, dots, tail = t.partition("...")
        if "." in head + tail:
            raise RuntimeError(f"einsum(): found '.' for operand {k} "
                               + ("for which an ellipsis was already found" if "..." in tail
                                  else "that is not part of any ellipsis"))
        explicit = len(head) + len(tail)
        if dots and explicit > x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({explicit}) is more than the number of dimensions "
                               f"({x.ndim}) for operand {k}")
        if not dots and explicit != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({explicit}) "
                               f"does not match the number of dimensions ({x.ndim}) for operand "
                               f"{k} and no ellipsis was given")
        spans.append((head, x.ndim - explicit if dots else None, tail))
    ell = "".join(next(free) for _ in range(max((n or 0 for _, n, _ in spans), default=0)))
    return [h + (ell[len(ell) - n:] if n else "") + t for h, n, t in spans], ell


def _parse(equation: str, operands) -> tuple[list[str], str]:
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    for i, c in enumerate(eq):
        if not (c.isascii() and c.isalpha()) and c not in ",->.":
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation "
                               f"string, subscripts must be in [a-zA-Z]")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    terms, ell = _expand_ellipses(terms, operands, eq)
    letters = "".join(terms)
    if not arrow:
        # implicit output: the ellipsis dims, then the subscripts seen exactly once, sorted
        rhs = ell + "".join(sorted(c for c in set(letters) - set(ell) if letters.count(c) == 1))
    else:
        head, dots, tail = rhs.partition("...")
        if "." in head + tail:
            raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis")
        rhs = head + (ell if dots else "") + tail
    for c in rhs:
        if rhs.count(c) > 1:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the "
                               f"output")
        if c not in letters:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation "
                               f"for any input operand")
    return terms, rhs


def _check_sizes(terms, operands) -> dict:
    sizes: dict[str, int] = {}
    for k, (t, x) in enumerate(zip(terms, operands)):
        for c, n in zip(t, x.shape):
            seen = sizes.get(c)
            if seen is not None and n != seen and 1 not in (n, seen):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which "
                                   f"does not broadcast with previously seen size {seen}")
            sizes[c] = n if seen in (None, 1) else seen
    return sizes


def _permute(x, letters: str, order: str):
    if letters == order:
        return x
    return ops.transpose(x, perm=tuple(letters.index(c) for c in order))


def _reduce_single(x, letters: str, keep: set):
    """Take diagonals of repeated subscripts and sum subscripts not in `keep`."""
    while True:
        c = next((c for c in letters if letters.count(c) > 1), None)
        if c is None:
            break
        p = letters.index(c)
        q = letters.index(c, p + 1)
        n = x.shape[p]
        shape = [1] * x.ndim
        shape[p] = shape[q] = n
        eye = tensor(np.eye(n, dtype=bool).reshape(shape))
        x = ops.reduce_sum(ops.where(eye, x, 0), dims=(q,), keepdim=False)
        letters = letters[:q] + letters[q + 1:]
    dropped = tuple(i for i, c in enumerate(letters) if c not in keep)
    if dropped:
        x = ops.reduce_sum(x, dims=dropped, keepdim=False)
        letters = "".join(c for c in letters if c in keep)
    return x, letters


def _contract(a, la: str, b, lb: str, keep: set):
    """The product of two reduced operands, summed over shared subscripts not in `keep`."""
    batch = "".join(c for c in la if c in lb and c in keep)
    inner = "".join(c for c in la if c in lb and c not in keep)
    left = "".join(c for c in la if c not in lb)
    right = "".join(c for c in lb if c not in la)
    a = _permute(a, la, batch + left + inner)
    b = _permute(b, lb, batch + inner + right)
    nb = len(batch)
    bshape = tuple(max(a.shape[i], b.shape[i]) for i in range(nb))
    if not inner:
        # an outer product: broadcast and multiply
        a = ops.reshape(a, shape=tuple(a.shape) + (1,) * len(right))
        b = ops.reshape(b, shape=tuple(b.shape[:nb]) + (1,) * len(left) + tuple(b.shape[nb:]))
        return a * b, batch + left + right
    lsh, ish, rsh = a.shape[nb:nb + len(left)], a.shape[nb + len(left):], b.shape[nb + len(inner):]
    inner_size = math.prod(max(p, q) for p, q in zip(ish, b.shape[nb:nb + len(inner)]))
    if math.prod(ish) != inner_size:   # a size-1 subscript broadcast against b's
        a = ops.broadcast_to(a, shape=tuple(a.shape[:nb + len(left)])
                             + tuple(b.shape[nb:nb + len(inner)]))
    if math.prod(b.shape[nb:nb + len(inner)]) != inner_size:
        b = ops.broadcast_to(b, shape=tuple(b.shape[:nb]) + tuple(a.shape[nb + len(left):])
                             + tuple(rsh))
    a = ops.reshape(a, shape=tuple(a.shape[:nb]) + (math.prod(lsh), inner_size))
    b = ops.reshape(b, shape=tuple(b.shape[:nb]) + (inner_size, math.prod(rsh)))
    out = ops.matmul(a, b)
    return ops.reshape(out, shape=bshape + tuple(lsh) + tuple(rsh)), batch + left + right


def einsum(equation: str, *operands):
    """Sum of products of the operands' elements over the subscripts missing from the output
    (`einsum("ij,jk->ik", a, b)` is `a @ b`); the implicit form (no `->`) outputs the ellipsis
    dims and then the subscripts seen once, in alphabetical order. `...` stands for the
    remaining dims of an operand, broadcast across operands."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    terms, out = _parse(equation, operands)
    _check_sizes(terms, operands)
    pending = list(zip(operands, terms))

    def needed(rest):
        return set(out).union(*[set(t) for _, t in rest])

    x, letters = _reduce_single(*pending[0], needed(pending[1:]))
    contracted = False
    for k in range(1, len(pending)):
        keep = needed(pending[k + 1:])
        y, ly = _reduce_single(*pending[k], keep | set(letters))
        contracted |= any(c in ly and c not in keep for c in letters)
        x, letters = _contract(x, letters, y, ly, keep)
    result = ops.transpose(x, perm=tuple(letters.index(c) for c in out))
    # PyTorch's node name: the view after its bmm, the product of an outer product, the sum
    # or permute of a single operand
    if len(operands) > 1:
        name = "ViewBackward0" if contracted else "MulBackward0"
    else:
        name = "SumBackward1" if set(terms[0]) - set(out) else "PermuteBackward0"
    return _overload(result, name)
