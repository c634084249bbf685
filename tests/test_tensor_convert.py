"""Tensor conversions: clone, .to(dtype/device), .cpu() stay in the graph; dtype names."""

import numpy as np
import pytest

import cnnlab
from cnnlab.ops.copy import Clone, ToDevice
from tests.helpers import check_gradients, seeded


def test_clone_copies_and_passes_gradients():
    x = cnnlab.randn(3, requires_grad=True)
    y = x.clone()
    assert y.array is not x.array and not y.is_leaf
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    (y * 3).sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), [3.0, 3.0, 3.0])
    check_gradients(lambda t: Clone.apply(t) * t, [seeded(0).standard_normal(4)])


def test_to_dtype_is_a_graph_op():
    x = cnnlab.randn(3, requires_grad=True)
    y = x.to(cnnlab.float64)
    assert y.dtype == np.float64 and not y.is_leaf
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 2.0, 2.0])


def test_to_the_same_device_or_dtype_returns_self_as_pytorch():
    x = cnnlab.randn(3, requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x and x.to(cnnlab.float32) is x
    assert x.to(cnnlab.zeros(1, dtype=np.float64)).dtype == np.float64


def test_device_move_op_passes_gradients_back():
    x = cnnlab.randn(2, 2, requires_grad=True)
    y = ToDevice.apply(x, device="cpu")  # the op behind .to('cuda'), here cpu -> cpu
    assert not y.is_leaf and y.device == "cpu"
    (y * y).sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), 2 * x.numpy(), rtol=1e-6)


def test_to_rejects_an_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        cnnlab.ones(2).to(device="tpu")


def test_cuda_without_cupy_says_what_is_missing():
    if cnnlab.backend.has_cupy():
        pytest.skip("CuPy is installed here")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        cnnlab.ones(2).cuda()


def test_pytorch_dtype_names():
    assert cnnlab.float32 == np.float32 and cnnlab.float == np.float32
    assert cnnlab.float64 == cnnlab.double == np.float64
    assert cnnlab.int64 == cnnlab.long == np.int64 and cnnlab.int == np.int32
    assert cnnlab.bool == np.bool_ and cnnlab.uint8 == np.uint8 and cnnlab.half == np.float16
    assert cnnlab.tensor([1, 2]).to(cnnlab.float32).dtype == cnnlab.float32
    assert cnnlab.zeros(2, dtype=cnnlab.float64).dtype == np.float64
    assert cnnlab.tensor([1.5]).long().dtype == cnnlab.long
    assert "float32" in dir(cnnlab)


def test_array_protocol_gives_numpy_arrays():
    t = cnnlab.tensor([1.0, 2.0])
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    c = np.array(t)  # a copy, as np.array promises
    c[0] = 9
    assert t.numpy()[0] == 1.0
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
