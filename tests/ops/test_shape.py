"""Shape and indexing primitives against PyTorch."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

X = seeded(5).standard_normal((2, 3, 4))

CASES = {
    "reshape": (lambda t: t.reshape(6, 4), lambda t: t.reshape(6, 4)),
    "reshape-1": (lambda t: t.reshape(-1, 2), lambda t: t.reshape(-1, 2)),
    "permute": (lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "transpose": (lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2)),
    "T2d": (lambda t: t.reshape(6, 4).T, lambda t: t.reshape(6, 4).T),
    "flatten": (lambda t: t.flatten(1), lambda t: t.flatten(1)),
    "unsqueeze-squeeze": (
        lambda t: t.unsqueeze(1).squeeze(1) * 2,
        lambda t: t.unsqueeze(1).squeeze(1) * 2,
    ),
    "expand": (lambda t: t[:, :1].expand(2, 5, 4), lambda t: t[:, :1].expand(2, 5, 4)),
    "slice": (lambda t: t[:, 1:, ::2], lambda t: t[:, 1:, ::2]),
    "int-index": (lambda t: t[1, :, -1], lambda t: t[1, :, -1]),
    "fancy-repeat": (lambda t: t[np.array([0, 1, 1])], lambda t: t[torch.tensor([0, 1, 1])]),
    "bool-mask": (lambda t: t[t.numpy() > 0], lambda t: t[t > 0]),
    "none-ellipsis": (lambda t: t[None, ..., 1], lambda t: t[None, ..., 1]),
    "pad": (
        lambda t: cnnlab.pad(t, (1, 2, 0, 1), value=0.5),
        lambda t: torch.nn.functional.pad(t, (1, 2, 0, 1), value=0.5),
    ),
}


@pytest.mark.parametrize("name", [n for n in CASES if n != "bool-mask"])
def test_gradcheck(name):
    check_gradients(CASES[name][0], [X])


@requires_torch
@pytest.mark.parametrize("name", list(CASES))
def test_torch_parity(name):
    f, tf = CASES[name]
    torch_parity(f, tf, [X.astype(np.float32)])


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim):
    a, b = X.astype(np.float32), (X * 2)[:, :, :].astype(np.float32)
    torch_parity(
        lambda u, v: cnnlab.cat([u, v * v], dim), lambda u, v: torch.cat([u, v * v], dim), [a, b]
    )
    torch_parity(
        lambda u, v: cnnlab.stack([u, v], dim), lambda u, v: torch.stack([u, v], dim), [a, b]
    )
    check_gradients(lambda u, v: cnnlab.cat([u, v], dim), [X, X + 1])


@requires_torch
def test_constant_pad_keeps_channels_last_as_pytorch():
    # the residual add of ResNet's option-A shortcut then meets two arrays alike
    x = cnnlab.tensor(seeded(3).standard_normal((2, 3, 4, 5)).astype(np.float32))
    x = x.contiguous(memory_format=cnnlab.channels_last)
    x.requires_grad_(True)
    y = cnnlab.pad(x[:, :, ::2, ::2], (1, 0, 0, 0, 2, 1))
    tx = torch.from_numpy(x.numpy()).contiguous(memory_format=torch.channels_last)
    tx.requires_grad_(True)
    ty = torch.nn.functional.pad(tx[:, :, ::2, ::2], (1, 0, 0, 0, 2, 1))
    assert ty.is_contiguous(memory_format=torch.channels_last)
    assert y.is_contiguous(memory_format=cnnlab.channels_last)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    g = seeded(4).standard_normal(y.shape).astype(np.float32)
    (y * cnnlab.tensor(g)).sum().backward()
    (ty * torch.from_numpy(g)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_pad_rejects_bad_input():
    with pytest.raises(ValueError, match="pad"):
        cnnlab.pad(cnnlab.tensor(X), (1, 2, 3))
    with pytest.raises(ValueError, match="'constant', 'reflect', 'replicate' or 'circular'"):
        cnnlab.pad(cnnlab.tensor(X), (1, 1), mode="symmetric")


PAD_MODES = [("reflect", (2, 1, 3, 2)), ("replicate", (2, 1, 3, 2)), ("circular", (1, 3, 2, 0))]


@pytest.mark.parametrize("mode,pads", PAD_MODES)
def test_pad_modes_match_numpy_and_gradcheck(mode, pads):
    x = seeded(6).standard_normal((2, 3, 4, 5))
    np_mode = {"replicate": "edge", "circular": "wrap"}.get(mode, mode)
    want = np.pad(x, [(0, 0), (0, 0), pads[2:], pads[:2]], mode=np_mode)
    np.testing.assert_array_equal(cnnlab.pad(cnnlab.tensor(x), pads, mode=mode).numpy(), want)
    check_gradients(lambda t: cnnlab.pad(t, pads, mode=mode), [x])


@requires_torch
@pytest.mark.parametrize("mode,pads", PAD_MODES)
def test_pad_modes_torch_parity(mode, pads):
    x = seeded(7).standard_normal((2, 3, 4, 5)).astype(np.float32)
    torch_parity(
        lambda t: cnnlab.pad(t, pads, mode=mode),
        lambda t: torch.nn.functional.pad(t, pads, mode=mode),
        [x],
    )


def test_pad_mode_errors_name_the_mode():
    x = cnnlab.tensor(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="pad: mode must be"):
        cnnlab.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match=r"pad: mode 'reflect' needs pads below the size"):
        cnnlab.pad(x, (3, 0), mode="reflect")
