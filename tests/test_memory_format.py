"""cnnlab.memory_format: channels_last and contiguous_format as strides on ordinary arrays,
Tensor.contiguous / is_contiguous and Module.to(memory_format=...), as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import nn
from tests.helpers import requires_torch, seeded, torch


def _x(*shape, seed=0):
    return cnnlab.tensor(seeded(seed).standard_normal(shape).astype(np.float32))


def test_contiguous_channels_last_lays_the_values_out_nhwc_and_back():
    x = _x(2, 3, 4, 5)
    assert x.is_contiguous() and not x.is_contiguous(memory_format=cnnlab.channels_last)
    cl = x.contiguous(memory_format=cnnlab.channels_last)
    a = cl.numpy()
    assert a.shape == (2, 3, 4, 5) and a.transpose(0, 2, 3, 1).flags.c_contiguous
    assert cl.is_contiguous(memory_format=cnnlab.channels_last) and not cl.is_contiguous()
    np.testing.assert_array_equal(a, x.numpy())
    assert cl.contiguous(memory_format=cnnlab.channels_last) is cl  # already: itself
    back = cl.contiguous()
    assert back.numpy().flags.c_contiguous and back is not cl
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    assert x.contiguous() is x
    to = x.to(memory_format=cnnlab.channels_last)
    assert to.is_contiguous(memory_format=cnnlab.channels_last)
    np.testing.assert_array_equal(to.numpy(), x.numpy())


def test_contiguous_is_in_the_graph():
    x = cnnlab.tensor(seeded(1).standard_normal((2, 3, 4, 4)), requires_grad=True)
    w = cnnlab.tensor(seeded(2).standard_normal((2, 3, 4, 4)))
    (x.contiguous(memory_format=cnnlab.channels_last) * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w.numpy())


def test_bad_memory_formats_are_clear_errors():
    with pytest.raises(ValueError, match="Tensor.contiguous: memory_format must be"):
        _x(2, 3).contiguous(memory_format="nhwc")
    with pytest.raises(ValueError, match="channels_last needs a 4-D"):
        _x(2, 3, 4).contiguous(memory_format=cnnlab.channels_last)
    with pytest.raises(ValueError, match="Module.to: memory_format must be"):
        nn.Conv2d(3, 4, 3).to(memory_format="channels_last")
    assert repr(cnnlab.channels_last) == "cnnlab.channels_last"


def _net():
    cnnlab.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3),
        nn.Flatten(), nn.Linear(8 * 6 * 6, 4),
    )  # fmt: skip


@pytest.mark.parametrize("kern", ["numpy", "reference", "auto"])
def test_a_channels_last_model_and_input_train_as_the_contiguous_ones(kern):
    x, y = _x(4, 3, 8, 8, seed=3), cnnlab.tensor(np.array([0, 1, 2, 3]))
    results = []
    for fmt in (cnnlab.contiguous_format, cnnlab.channels_last):
        model = _net().to(memory_format=fmt)
        w = model[0].weight
        assert w.is_contiguous(memory_format=fmt) and model[1].weight.is_contiguous()
        with cnnlab.set_kernels(kern):
            loss = F.cross_entropy(model(x.contiguous(memory_format=fmt)), y)
            loss.backward()
        results.append((loss.item(), w.grad.numpy().copy(), model[3].weight.grad.numpy()))
    (l0, g0, h0), (l1, g1, h1) = results
    assert abs(l0 - l1) < 1e-5
    np.testing.assert_allclose(g1, g0, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h1, h0, rtol=1e-4, atol=1e-5)


@requires_torch
def test_strides_match_pytorchs_channels_last():
    x = _x(2, 3, 4, 5)
    cl = x.contiguous(memory_format=cnnlab.channels_last).numpy()
    t = torch.tensor(x.numpy()).contiguous(memory_format=torch.channels_last)
    assert tuple(s // cl.itemsize for s in cl.strides) == t.stride()


def test_the_gradient_of_a_slice_keeps_the_images_memory_format():
    # regression: ResNet's option-A shortcut (x[:, :, ::2, ::2]) sent back a contiguous
    # gradient, so the residual branch's sum left channels-last and every kernel after it
    # reordered its input (2.2 ms of a ResNet-20 step)
    for fmt in (cnnlab.channels_last, cnnlab.contiguous_format):
        x = _x(2, 3, 4, 6).contiguous(memory_format=fmt).requires_grad_()
        (x[:, :, ::2, 1::2] * 2).sum().backward()
        assert x.grad.is_contiguous(memory_format=fmt)
        expect = np.zeros((2, 3, 4, 6), np.float32)
        expect[:, :, ::2, 1::2] = 2
        np.testing.assert_array_equal(x.grad.numpy(), expect)
