"""split, chunk, unbind, narrow, flip, gather, index_select, masked_fill, repeat, tile,
hstack/vstack, squeeze over several dims: PyTorch parity (pieces and gradients) and float64
gradchecks."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

IDX = np.array([2, 0, 2], np.int64)
MASK = seeded(1).standard_normal((3, 4)) > 0

CASES = {  # name: fn taking (module, tensor), the result one tensor
    "split_size_last": lambda m, t: m.split(t, 3, dim=1)[1],
    "split_sections": lambda m, t: m.split(t, [1, 3], dim=1)[1] * 2,
    "chunk": lambda m, t: m.chunk(t, 2, 0)[1],
    "unbind": lambda m, t: m.unbind(t, 1)[2],
    "narrow": lambda m, t: m.narrow(t, 1, 1, 2),
    "flip": lambda m, t: m.flip(t, (0, 1)),
    "gather": lambda m, t: m.gather(t, 1, m.tensor([[0, 0], [3, 1], [2, 2]])),
    "index_select": lambda m, t: m.index_select(t, 1, m.tensor(IDX)),
    "masked_fill": lambda m, t: t.masked_fill(m.tensor(MASK), 0.5),
    "repeat": lambda m, t: t.repeat(2, 1, 2),
    "tile": lambda m, t: m.tile(t, (2,)),
    "hstack": lambda m, t: m.hstack([t, t * 2]),
    "vstack": lambda m, t: m.vstack([t, t[0]]),
    "tril_triu": lambda m, t: (
        m.tril(t, -1) * 2 + t.triu(1) + m.tril(t.reshape(2, 3, 2)).sum(0).sum(1, keepdim=True)
    ),
    "squeeze_dims": lambda m, t: m.squeeze(t.reshape(1, 3, 1, 4), (0, 2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_shape_function_gradcheck_and_parity(name):
    fn = CASES[name]
    x = seeded(2).standard_normal((3, 4))
    check_gradients(lambda t: fn(cnnlab, t), [x])
    if torch is not None:
        torch_parity(lambda t: fn(cnnlab, t), lambda t: fn(torch, t), [x.astype(np.float32)])


@requires_torch
@pytest.mark.parametrize("n,arg,dim", [(7, 3, 0), (7, 4, 0), (6, 4, 0), (5, 5, 0), (2, 3, 0)])
def test_split_and_chunk_piece_sizes_equal_torch(n, arg, dim):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    for name in ("split", "chunk"):
        ours = [p.shape for p in getattr(cnnlab, name)(cnnlab.tensor(x), arg, dim)]
        theirs = [tuple(p.shape) for p in getattr(torch, name)(torch.tensor(x), arg, dim)]
        assert ours == theirs, name


@pytest.mark.parametrize(
    "call,err,match",
    [
        (lambda x: cnnlab.split(x, [1, 1], 0), ValueError, "add up to 2, dim 0 has length 3"),
        (lambda x: cnnlab.split(x, 0), ValueError, "split_size must be > 0"),
        (lambda x: cnnlab.chunk(x, 0), ValueError, "chunks must be > 0"),
        (lambda x: cnnlab.gather(x, 0, cnnlab.tensor([0])), ValueError, "as many dims"),
        (lambda x: cnnlab.gather(x, 0, cnnlab.tensor([[0.5]])), TypeError, "integer tensor"),
        (lambda x: x.masked_fill(cnnlab.tensor([1]), 0), TypeError, "mask must be a bool"),
        (lambda x: x.narrow(0, 2, 2), ValueError, "exceeds dim 0 of size 3"),
        (lambda x: x.repeat(2), ValueError, "repeat: got 1 sizes"),
    ],
)
def test_shape_functions_name_what_is_wrong(call, err, match):
    with pytest.raises(err, match=match):
        call(cnnlab.ones(3, 4))


def test_numel_and_aliases():
    x = cnnlab.ones(2, 3)
    assert cnnlab.numel(x) == 6
    assert cnnlab.concat([x, x]).shape == cnnlab.concatenate([x, x]).shape == (4, 3)
    assert cnnlab.swapaxes(x, 0, 1).shape == (3, 2) == cnnlab.permute(x, (1, 0)).shape
    assert cnnlab.reshape(x, (3, 2)).shape == (3, 2)
