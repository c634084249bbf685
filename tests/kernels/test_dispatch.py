"""cnnlab.kernels: the per-call choice, set_kernels, CNNLAB_KERNELS and info()."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import kernels
from tests.helpers import seeded

ONEDNN = kernels._onednn() is not None


def _small_net(dtype):
    """conv -> batch norm -> relu -> max pool -> avg pool, forward and backward; the ReLU
    sees 524,288 values, enough for oneDNN to take it whether its threads sleep or spin
    (smaller ones stay with NumPy)."""
    rng = seeded(0)
    x = cnnlab.tensor(rng.standard_normal((8, 3, 128, 128)).astype(dtype), requires_grad=True)
    w = cnnlab.tensor(rng.standard_normal((4, 3, 3, 3)).astype(dtype), requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    y = F.batch_norm(y, None, None, training=True)
    y = F.avg_pool2d(F.max_pool2d(F.relu(y), 2), 2)
    y.sum().backward()
    return x.grad


@pytest.mark.parametrize("name", ["reference", "numpy"] + (["onednn"] if ONEDNN else []))
def test_forcing_a_backend_runs_it_and_info_says_so(name):
    with cnnlab.set_kernels(name):
        assert kernels.get_kernels() == name
        grad = _small_net(np.float32)
        info = kernels.info()
        assert info["choice"] == name
        for op in ("conv2d", "batch_norm", "max_pool2d", "avg_pool2d", "relu"):
            assert info["last"][f"{op}/float32"]["backend"] == name, op
            assert info["ops"][f"{op}/float32"]["backend"] == name
    assert kernels.get_kernels() == "auto"  # the with block restored the choice
    np.testing.assert_allclose(grad, _small_net(np.float32), rtol=1e-4, atol=1e-5)


def test_auto_runs_float64_on_numpy_and_says_why():
    with cnnlab.set_kernels("auto"):
        _small_net(np.float64)
        info = kernels.info()
    assert info["last"]["conv2d/float64"]["backend"] == "numpy"
    assert "float32" in info["last"]["conv2d/float64"]["why"]
    expected = "onednn" if ONEDNN else "numpy"
    assert info["ops"]["conv2d/float32"]["backend"] == expected
    assert kernels.summary().startswith("kernels: auto")


@pytest.mark.skipif(not ONEDNN, reason="oneDNN is not installed")
def test_auto_asks_onednn_about_each_call():
    # regression: pick() once asked oneDNN's supports() about the op family ("conv2d"),
    # a name it does not know, so auto never ran oneDNN at all
    rng = seeded(2)
    x = cnnlab.tensor(rng.standard_normal((2, 3, 9, 9)).astype(np.float32))
    w = cnnlab.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    with cnnlab.set_kernels("auto"):
        F.conv2d(x, w, stride=2, padding=1)
        assert kernels.info()["last"]["conv2d/float32"]["backend"] == "onednn"
        F.avg_pool2d(x, 2, ceil_mode=True, count_include_pad=False)  # divisors agree
        assert kernels.info()["last"]["avg_pool2d/float32"]["backend"] == "onednn"
        # ceil_mode's extra window with count_include_pad: oneDNN would count the padding
        # it grows in the divisor, PyTorch does not
        y = F.avg_pool2d(x, 2, stride=2, ceil_mode=True, count_include_pad=True)
        assert kernels.info()["last"]["avg_pool2d/float32"]["backend"] == "numpy"
    ref = F.avg_pool2d(x.double(), 2, stride=2, ceil_mode=True, count_include_pad=True)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not ONEDNN, reason="oneDNN is not installed")
def test_auto_asks_onednn_about_inference_batch_norm_itself():
    # regression: pick() judged eval-mode batch norm by the training kernel's support, so
    # inference ran whatever the training answer allowed; it now asks about inference, which
    # oneDNN declines for one-pixel images (its post-op broadcast misreads (N, C, 1, 1))
    rng = seeded(3)
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    with cnnlab.set_kernels("auto"):
        x = cnnlab.tensor(rng.standard_normal((2, 3, 4, 4)).astype(np.float32))
        y = F.batch_norm(x, mean, var, bias=cnnlab.tensor(np.arange(3, dtype=np.float32)))
        assert kernels.info()["last"]["batch_norm/float32"]["backend"] == "onednn"
        x1 = cnnlab.tensor(rng.standard_normal((5, 3)).astype(np.float32))
        y1 = F.batch_norm(x1, mean, var, bias=cnnlab.tensor(np.arange(3, dtype=np.float32)))
        assert kernels.info()["last"]["batch_norm/float32"]["backend"] == "numpy"
    want = x.numpy() / np.sqrt(1 + 1e-5) + np.arange(3).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y1.numpy(), x1.numpy() / np.sqrt(1 + 1e-5) + np.arange(3), 1e-5)


def test_features_only_numpy_has_go_to_numpy_under_auto():
    x = cnnlab.tensor(seeded(1).standard_normal((1, 2, 6, 6)).astype(np.float32))
    with cnnlab.set_kernels("auto"):
        _, idx = F.max_pool2d(x, 2, return_indices=True)
        assert kernels.info()["last"]["max_pool2d/float32"]["backend"] == "numpy"
        F.avg_pool2d(x, 2, divisor_override=3)
        assert kernels.info()["last"]["avg_pool2d/float32"]["backend"] == "numpy"
    assert idx.shape == (1, 2, 3, 3)


def test_set_kernels_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"set_kernels: expected one of auto, onednn, numpy"):
        cnnlab.set_kernels("fast")


@pytest.mark.skipif(ONEDNN, reason="oneDNN loads here")
def test_forcing_onednn_where_it_is_absent_says_why():
    with pytest.raises(RuntimeError, match=r'set_kernels\("onednn"\): oneDNN is not available'):
        cnnlab.set_kernels("onednn")
    assert kernels.get_kernels() == "auto"
    assert kernels.info()["onednn"]["available"] is False


def _run(code: str, **env) -> subprocess.CompletedProcess:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_var_is_read_at_first_use():
    code = (
        "import numpy as np, cnnlab, cnnlab.nn.functional as F\n"
        "from cnnlab import kernels\n"
        "F.relu(cnnlab.tensor(np.ones((2, 3))))\n"
        "print(kernels.get_kernels(), kernels.info()['last']['relu/float64']['backend'])\n"
        "try:\n    kernels.set_kernels('nope')\nexcept ValueError:\n    print('rejected')\n"
    )
    out = _run(code, CNNLAB_KERNELS="reference")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["reference", "reference", "rejected"]
    bad = _run("import cnnlab; cnnlab.kernels.get_kernels()", CNNLAB_KERNELS="fastest")
    assert bad.returncode != 0 and "CNNLAB_KERNELS: expected one of" in bad.stderr


@pytest.fixture
def fake_onednn(monkeypatch):
    """A stand-in oneDNN module (the reference kernels behind oneDNN's interface)."""
    import types

    from cnnlab.kernels import reference

    fake = types.ModuleType("cnnlab.kernels.onednn")
    for fn in kernels.FUNCTIONS:
        setattr(fake, fn, getattr(reference, fn))
    fake.available = lambda: True
    fake.why_unavailable = lambda: ""
    fake.info = lambda: {"available": True, "isa": "fake"}
    fake.calls = []

    def supports(fn, *arrays, **config):  # oneDNN's: a function name and its own arguments
        fake.calls.append((fn, [getattr(a, "shape", None) for a in arrays], config))
        if config.get("groups", 1) == 3:
            raise KeyError("groups")
        return config.get("groups", 1) == 1

    fake.supports = supports
    monkeypatch.setitem(sys.modules, "cnnlab.kernels.onednn", fake)
    monkeypatch.setattr(kernels._state, "onednn", None)
    monkeypatch.setattr(kernels._state, "backends", {})
    yield fake


def test_auto_prefers_onednn_where_it_loads_and_supports_the_call(fake_onednn):
    rng = seeded(2)
    x = cnnlab.tensor(rng.standard_normal((1, 6, 5, 5)).astype(np.float32))
    with cnnlab.set_kernels("auto"):
        F.conv2d(x, cnnlab.tensor(rng.standard_normal((2, 6, 3, 3)).astype(np.float32)))
        assert kernels.info()["last"]["conv2d/float32"]["backend"] == "onednn"
        fn, shapes, config = fake_onednn.calls[-1]
        assert fn == "conv2d_forward" and shapes == [(1, 6, 5, 5), (2, 6, 3, 3), None]
        assert config["padding"] == (0, 0, 0, 0) and config["groups"] == 1
        F.conv2d(x, cnnlab.tensor(rng.standard_normal((2, 3, 3, 3)).astype(np.float32)), groups=2)
        last = kernels.info()["last"]["conv2d/float32"]
        assert last["backend"] == "numpy" and "does not support" in last["why"]
        F.conv2d(x, cnnlab.tensor(rng.standard_normal((3, 2, 3, 3)).astype(np.float32)), groups=3)
        assert "supports raised KeyError" in kernels.info()["last"]["conv2d/float32"]["why"]
        F.conv2d(x.double(), cnnlab.tensor(rng.standard_normal((2, 6, 3, 3))))
        assert kernels.info()["last"]["conv2d/float64"]["backend"] == "numpy"
        assert kernels.info()["onednn"] == {"available": True, "isa": "fake"}
    with cnnlab.set_kernels("onednn"):  # loads: no error
        assert kernels.info()["ops"]["relu/float32"]["backend"] == "onednn"


def test_the_support_check_sees_the_call_that_runs(fake_onednn):
    # regression: pick() asked oneDNN about a call without the bias, in NCHW, with no
    # post-ops; the call that ran had all three
    rng = seeded(4)
    x = rng.standard_normal((1, 6, 5, 5)).astype(np.float32)
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # channels last
    w = rng.standard_normal((2, 6, 3, 3)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    geo = {"stride": (1, 1), "padding": (0, 0, 0, 0), "dilation": (1, 1), "groups": 1}
    with cnnlab.set_kernels("auto"):
        y = kernels.conv2d_forward(x, w, b, **geo, post=(("relu",),))
    fn, shapes, config = fake_onednn.calls[-1]
    assert fn == "conv2d_forward" and shapes == [(1, 6, 5, 5), (2, 6, 3, 3), (2,)]
    assert config["post"] == (("relu",),) and config["addend"] is None
    assert kernels.info()["last"]["conv2d/float32"]["backend"] == "onednn"
    want = np.maximum(kernels.reference.conv2d_forward(x, w, b, **geo), 0)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not ONEDNN, reason="oneDNN is not installed")
def test_a_biased_convolution_builds_one_plan_and_runs_it():
    # regression: the probe built a plan without the bias, the call another with it
    from cnnlab.kernels.onednn import plan

    rng = seeded(5)
    x = cnnlab.tensor(rng.standard_normal((2, 4, 7, 7)).astype(np.float32))
    conv = cnnlab.nn.Conv2d(4, 8, 3, bias=True).eval()
    plan._local.plans.clear()
    with cnnlab.set_kernels("auto"), cnnlab.no_grad():
        conv(x)
    keys = [key for key in plan._local.plans if key[0] == "conv_fwd"]
    assert len(keys) == 1 and keys[0][3] is True  # (..., x shape, w shape, bias, ...)
