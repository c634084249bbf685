"""cnnlab.device as torch.device: parsing, .type/.index, equality with strings, repr, and
the one-line errors for devices cnnlab cannot run; Tensor.to and Module.to with devices."""

import pickle

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, torch


@requires_torch
@pytest.mark.parametrize(
    "args", [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 2), ("mps",), ("xla", 0)]
)
def test_device_type_index_and_repr_as_torch(args):
    ours, theirs = cnnlab.device(*args), torch.device(*args)
    assert ours.type == theirs.type and ours.index == theirs.index
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)


def test_device_compares_and_hashes_as_its_string():
    d = cnnlab.device("cpu")
    assert d == "cpu" and d == cnnlab.device(d) and "cpu" in {d}
    assert cnnlab.device("cuda:0") != "cuda"
    assert pickle.loads(pickle.dumps(cnnlab.device("cuda", 1))) == "cuda:1"
    assert cnnlab.ones(2).device == "cpu" and isinstance(cnnlab.ones(2).device, cnnlab.device)
    assert cnnlab.device(0) == "cuda:0"  # an int names a CUDA device


@pytest.mark.parametrize(
    "args,match",
    [
        (("tpu",), "unknown device 'tpu'"),
        (("cuda:x",), "invalid device string"),
        (("cuda:1", 1), "index given twice"),
        (("cuda", -1), "index must be an int >= 0"),
        ((1.5,), "expected a string or an int"),
    ],
)
def test_bad_device_names_say_what_is_wrong(args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cnnlab.device(*args)


@pytest.mark.parametrize("name", ["mps", "xla", "meta", "xpu:0"])
def test_devices_cnnlab_cannot_run_raise_one_line(name):
    for move in (lambda: cnnlab.ones(2).to(name), lambda: nn.Linear(2, 2).to(name)):
        with pytest.raises(RuntimeError) as info:
            move()
        msg = str(info.value)
        assert f"cnnlab cannot run on device '{name}'" in msg and "\n" not in msg


def test_tensor_to_takes_devices_dtypes_and_tensors_as_torch():
    x = cnnlab.ones(2, 3, requires_grad=True)
    assert x.to("cpu") is x and x.to(cnnlab.device("cpu"), non_blocking=True) is x
    y = x.to("cpu", cnnlab.float64)
    assert y.dtype == np.float64 and not y.is_leaf  # a graph op, as in PyTorch
    assert x.to(cnnlab.zeros(1, dtype=cnnlab.float64)).dtype == np.float64
    assert x.to(device="cpu", dtype=cnnlab.float16).dtype == np.float16
    c = x.to("cpu", copy=True)
    assert c is not x and not np.shares_memory(c.numpy(), x.numpy())
    with pytest.raises(TypeError, match="Tensor.to: expected a device, a dtype or a tensor"):
        x.to([1])


def test_module_to_takes_device_objects_and_dtypes():
    m = nn.Linear(3, 2)
    assert m.to(cnnlab.device("cpu")) is m
    m.to("cpu", cnnlab.float64, non_blocking=True)
    assert m.weight.dtype == np.float64 and m.weight.device == "cpu"
    with pytest.raises(ValueError, match="Module.to: dtype must be floating"):
        m.to(cnnlab.int64)


@pytest.mark.skipif(cnnlab.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_names_what_is_missing():
    for move in (lambda: cnnlab.ones(2).cuda(), lambda: nn.Linear(2, 2).to("cuda")):
        with pytest.raises(RuntimeError, match="needs CuPy and a CUDA GPU"):
            move()
