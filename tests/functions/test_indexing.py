"""nonzero, roll, repeat_interleave, diag, meshgrid as torch.*: PyTorch parity (forward and
backward) and float64 gradchecks."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

CASES = {  # name: fn(module, tensor), one tensor out
    "roll_dim": lambda m, t: m.roll(t, 1, 1),
    "roll_two_dims": lambda m, t: m.roll(t, (2, -1), (0, 1)),
    "roll_flat": lambda m, t: t.roll(5),
    "repeat_interleave": lambda m, t: m.repeat_interleave(t, 2, dim=0),
    "repeat_interleave_counts": lambda m, t: t.repeat_interleave(m.tensor([1, 0, 3, 2]), dim=1),
    "repeat_interleave_flat": lambda m, t: m.repeat_interleave(t, 2),
    "diag_of_matrix": lambda m, t: m.diag(t),
    "diag_offset": lambda m, t: m.diag(t, -1) * 2 + m.diag(t, 1).sum(),
    "diag_to_matrix": lambda m, t: m.diag(t[0]) + m.diag(t[1], 1)[1:, :-1],
    "meshgrid_ij": lambda m, t: sum(
        g * (i + 1) for i, g in enumerate(m.meshgrid(t[0], t[1], indexing="ij"))
    ),
    "meshgrid_xy": lambda m, t: m.meshgrid(t[0], t[1, :3], indexing="xy")[1] * 3,
    "lerp": lambda m, t: m.lerp(t, t.flip(0), 0.3),
}


@pytest.mark.parametrize("name", list(CASES))
def test_indexing_gradcheck_and_parity(name):
    fn = CASES[name]
    x = seeded(5).standard_normal((3, 4))
    check_gradients(lambda t: fn(cnnlab, t), [x])
    if torch is not None:
        torch_parity(lambda t: fn(cnnlab, t), lambda t: fn(torch, t), [x.astype(np.float32)])


@requires_torch
def test_nonzero_argwhere_bincount_and_max_of_two_equal_torch():
    x = np.array([[0, 1, 0], [2, 0, 3]])
    ours, theirs = cnnlab.tensor(x), torch.tensor(x)
    np.testing.assert_array_equal(cnnlab.nonzero(ours).numpy(), torch.nonzero(theirs).numpy())
    np.testing.assert_array_equal(cnnlab.argwhere(ours).numpy(), torch.argwhere(theirs).numpy())
    for o, t in zip(ours.nonzero(as_tuple=True), theirs.nonzero(as_tuple=True)):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    labels = np.array([0, 2, 2, 5])
    np.testing.assert_array_equal(
        cnnlab.bincount(cnnlab.tensor(labels), minlength=7).numpy(),
        torch.bincount(torch.tensor(labels), minlength=7).numpy(),
    )
    a = np.array([1.0, 5.0, 2.0], np.float32)
    b = np.array([3.0, 0.0, 2.0], np.float32)
    torch_parity(lambda u, v: u.max(v), lambda u, v: u.max(v), [a, b])
    torch_parity(lambda u, v: cnnlab.min(u, v), lambda u, v: torch.min(u, v), [a, b])


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: cnnlab.roll(cnnlab.ones(2, 2), (1, 1), 0), "2 shifts for 1 dims"),
        (lambda: cnnlab.diag(cnnlab.ones(2, 2, 2)), "1-D or 2-D"),
        (lambda: cnnlab.meshgrid(cnnlab.ones(2), indexing="yx"), "'ij' or 'xy'"),
        (lambda: cnnlab.bincount(cnnlab.tensor([1, -1])), "non-negative ints"),
    ],
)
def test_indexing_functions_name_what_is_wrong(call, match):
    with pytest.raises(ValueError, match=match):
        call()
