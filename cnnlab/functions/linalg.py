"""Products with PyTorch's signatures: ``matmul``, ``mm``, ``bmm``, ``mv``, ``dot``,
``outer``, ``einsum``, ``t``, ``trace``, ``tensordot``.

``mm``, ``bmm``, ``mv`` and ``dot`` check the dims PyTorch requires and then are one
:class:`~cnnlab.ops.linalg.MatMul`; ``einsum`` is its own op (:mod:`cnnlab.ops.einsum`).
"""

from __future__ import annotations

from cnnlab.autograd import Tensor
from cnnlab.functions.out import into
from cnnlab.ops import einsum as _einsum
from cnnlab.ops.linalg import MatMul
from cnnlab.ops.shape import transpose

__all__ = ["bmm", "dot", "einsum", "matmul", "mm", "mv", "outer", "t", "tensordot", "trace"]


def _need(name: str, what: str, t: Tensor, ndim: int) -> None:
    if t.ndim != ndim:
        raise ValueError(f"{name}: {what} must be {ndim}-D, got shape {tuple(t.shape)}")


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The matrix product with NumPy's rules (1-D as vectors, batch dims broadcast)."""
    return into("matmul", out, MatMul.apply(input, other), input, other)


def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``(n, m) @ (m, p) -> (n, p)``."""
    _need("mm", "input", input, 2)
    _need("mm", "mat2", mat2, 2)
    return into("mm", out, MatMul.apply(input, mat2), input, mat2)


def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Batched ``(b, n, m) @ (b, m, p) -> (b, n, p)`` (no broadcasting, as PyTorch)."""
    _need("bmm", "input", input, 3)
    _need("bmm", "mat2", mat2, 3)
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(
            f"bmm: batch sizes differ: input {tuple(input.shape)}, mat2 {tuple(mat2.shape)}"
        )
    return into("bmm", out, MatMul.apply(input, mat2), input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """``(n, m) @ (m,) -> (n,)``."""
    _need("mv", "input", input, 2)
    _need("mv", "vec", vec, 1)
    return MatMul.apply(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """The inner product of two 1-D tensors."""
    _need("dot", "input", input, 1)
    _need("dot", "other", other, 1)
    return MatMul.apply(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """``input[:, None] * vec2[None, :]``."""
    _need("outer", "input", input, 1)
    _need("outer", "vec2", vec2, 1)
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


def t(input: Tensor) -> Tensor:
    """Transpose a 2-D tensor; 0-D and 1-D come back as they are, as PyTorch."""
    if input.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dims, got shape {tuple(input.shape)}")
    return input if input.ndim < 2 else transpose(input, 0, 1)


def einsum(equation: str, *operands) -> Tensor:
    """Sum of products over the named indices, e.g. ``einsum('bij,bjk->bik', a, b)``;
    operands one by one or as one list; ``...`` stands for leading dims."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, out = _einsum.explicit(equation, [o.ndim for o in operands])
    return _einsum.Einsum.apply(*operands, terms=tuple(terms), out=out)


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor."""
    _need("trace", "input", input, 2)
    n = min(input.shape)
    return einsum("ii->", input[:n, :n])


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b``, or the listed
    pairs ``dims=([a dims], [b dims])``."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[: a.ndim])
    sb = list(letters[a.ndim : a.ndim + b.ndim])
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    for i, j in zip(da, db):
        sb[j % b.ndim] = sa[i % a.ndim]
    out = [c for c in sa if c not in sb] + [c for c in sb if c not in sa]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)
