"""cnnlab.Size as torch.Size: a tuple with numel(), slices staying Sizes; what
``Tensor.shape`` and ``Tensor.size()`` give."""

import pytest

import cnnlab
from tests.helpers import requires_torch, torch


@requires_torch
def test_size_behaves_as_torch_size():
    ours, theirs = cnnlab.Size([2, 3, 4]), torch.Size([2, 3, 4])
    assert ours == theirs == (2, 3, 4)
    assert ours.numel() == theirs.numel() and cnnlab.Size().numel() == 1
    assert type(ours[1:]) is cnnlab.Size and ours[1:] == theirs[1:]
    assert ours[0] == 2 and isinstance(ours + (5,), cnnlab.Size)
    assert repr(ours) == "cnnlab.Size([2, 3, 4])"
    assert cnnlab.zeros(cnnlab.Size([2, 2])).shape == ours[:1] + (2,)


def test_size_takes_only_ints():
    with pytest.raises(TypeError, match="Size: expected ints"):
        cnnlab.Size([2.5])


@requires_torch
def test_shape_and_size_are_sizes_as_in_torch():
    x = cnnlab.zeros(2, 3, 4)
    assert type(x.shape) is cnnlab.Size and type(x.size()) is cnnlab.Size
    assert x.shape == torch.zeros(2, 3, 4).shape and x.size(1) == 3
    assert type(x.shape[1:]) is cnnlab.Size and x.shape[1:].numel() == 12
    assert type(x.size(-1)) is int and str(x.shape) == "cnnlab.Size([2, 3, 4])"
    assert cnnlab.zeros(x.shape[:2]).shape == (2, 3)  # a Size goes back into a factory
