"""cnnlab.cuda: is_available only where the CuPy path can run, and the calls PyTorch
programs make on machines with or without a GPU."""

import pytest

import cnnlab
from cnnlab import backend


def test_is_available_agrees_with_cupy_and_a_device():
    expected = backend.has_cupy() and cnnlab.cuda.device_count() > 0
    assert cnnlab.cuda.is_available() is expected
    assert isinstance(cnnlab.cuda.device_count(), int)


def test_without_cupy_nothing_is_available(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    assert not cnnlab.cuda.is_available() and cnnlab.cuda.device_count() == 0
    assert not cnnlab.accelerator.is_available()
    assert cnnlab.accelerator.current_accelerator() is None
    assert not cnnlab.backends.cudnn.is_available()
    with pytest.raises(RuntimeError, match=r"cnnlab.cuda.synchronize\(\): no CUDA device"):
        cnnlab.cuda.synchronize()
    cnnlab.cuda.empty_cache()  # a no-op without a GPU, as in PyTorch


def test_cupy_without_a_gpu_is_not_available(monkeypatch):
    class Runtime:
        @staticmethod
        def getDeviceCount():  # noqa: N802 - CuPy's name
            raise RuntimeError("cudaErrorNoDevice")

    class FakeCupy:
        class cuda:  # noqa: N801
            runtime = Runtime

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    assert cnnlab.cuda.device_count() == 0 and not cnnlab.cuda.is_available()
    assert cnnlab.accelerator.current_accelerator() == "cuda"  # built with CuPy
    assert cnnlab.accelerator.current_accelerator(check_available=True) is None


def test_cuda_manual_seed_seeds_cnnlab():
    cnnlab.cuda.manual_seed_all(5)
    a = cnnlab.rand(3)
    cnnlab.cuda.manual_seed(5)
    assert cnnlab.rand(3).tolist() == a.tolist()


def test_the_tutorial_device_line_gives_cpu_here():
    if cnnlab.cuda.is_available():
        pytest.skip("a CUDA device is present")
    device = (
        cnnlab.accelerator.current_accelerator().type
        if cnnlab.accelerator.is_available()
        else "cpu"
    )
    assert device == "cpu"
    device = "cuda" if cnnlab.cuda.is_available() else "cpu"
    assert cnnlab.ones(2, device=device).device == device
    assert not cnnlab.backends.mps.is_available() and not cnnlab.backends.mps.is_built()
    cnnlab.backends.cudnn.benchmark = True  # programs set it; it must be settable
    assert cnnlab.backends.cudnn.benchmark
    cnnlab.backends.cudnn.benchmark = False
