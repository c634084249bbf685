"""``einsum``: sums of products over named indices, with its gradient as einsums.

The equation is first written out in full (``'ij,jk'`` -> ``'ij,jk->ik'``; ``...`` becomes
capital letters), so forward and backward read the same subscripts. The gradient of
operand ``i`` is the einsum of the output gradient with every other operand into ``i``'s
subscripts; an index only ``i`` has (summed away) is broadcast back, and an index repeated
in ``i`` (a diagonal, as in ``'ii->'``) receives the gradient on that diagonal.
"""

from __future__ import annotations

import string

from cnnlab.autograd import Function
from cnnlab.backend import get_array_module


def explicit(equation: str, ndims) -> tuple[list[str], str]:
    """``(input subscripts, output subscripts)`` with ``...`` spelt as capital letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum: the equation {equation!r} has {len(terms)} operand(s), got {len(ndims)}"
        )
    n_ell = 0
    for t, nd in zip(terms, ndims):
        if "..." in t:
            n_ell = max(n_ell, nd - (len(t) - 3))
    ell = string.ascii_uppercase[:n_ell]
    out_terms = []
    for t, nd in zip(terms, ndims):
        if "..." in t:
            k = nd - (len(t) - 3)
            t = t.replace("...", ell[n_ell - k :])
        if not t.isalpha() and t:
            raise ValueError(f"einsum: subscripts must be letters, got {t!r} in {equation!r}")
        if len(t) != nd:
            raise ValueError(
                f"einsum: subscripts {t!r} in {equation!r} name {len(t)} dims, the operand has {nd}"
            )
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        letters = "".join(out_terms)
        once = sorted(c for c in set(letters) if letters.count(c) == 1 and c.islower())
        out = ell + "".join(once)
    return out_terms, out


class Einsum(Function):
    @staticmethod
    def forward(*xs, terms, out):
        xp = get_array_module(*xs)
        y = xp.einsum(",".join(terms) + "->" + out, *xs)
        return xp.asarray(y), (xs, terms, out)

    # dL/dx_i = einsum(g, x_j for j != i -> subscripts of x_i)
    @staticmethod
    def backward(ctx, g):
        xs, terms, out = ctx
        return tuple(_operand_grad(g, xs, terms, out, i) for i in range(len(xs)))


def _operand_grad(g, xs, terms, out, i):
    xp = get_array_module(g)
    x, t = xs[i], terms[i]
    others = [j for j in range(len(xs)) if j != i]
    have = set(out).union(*(terms[j] for j in others))
    full = "".join(dict.fromkeys(t))  # x's letters, each once
    kept = "".join(c for c in full if c in have)
    subs = ",".join([out] + [terms[j] for j in others]) + "->" + kept
    gi = xp.einsum(subs, g, *[xs[j] for j in others])
    if kept != full:  # letters only x has were summed away: broadcast the gradient back
        sizes = dict(zip(t, x.shape))
        gi = gi.reshape([sizes[c] if c in kept else 1 for c in full])
        gi = xp.broadcast_to(gi, [sizes[c] for c in full])
    if full == t:
        return xp.ascontiguousarray(gi)
    gx = xp.zeros(x.shape, dtype=g.dtype)
    xp.einsum(t + "->" + full, gx)[...] += gi  # a repeated letter: a writeable diagonal view
    return gx
