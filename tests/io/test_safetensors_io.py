import os
from collections import OrderedDict

import numpy as np
import pytest

import cnnlab
from cnnlab.io import load_weights, safetensors_io, save_weights
from tests.helpers import requires_torch, torch


def _state():
    rng = np.random.default_rng(0)
    return OrderedDict(
        [
            ("conv.weight", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
            ("conv.bias", rng.standard_normal(4)),  # float64
            ("bn.num_batches_tracked", np.array(7, dtype=np.int64)),
            ("mask", np.array([True, False])),
            ("half", np.arange(3, dtype=np.float16)),
            ("fc.weight", rng.standard_normal((5, 2)).astype(np.float32).T),  # non-contiguous
        ]
    )


def test_round_trip(tmp_path):
    sd = _state()
    path = save_weights(sd, tmp_path / "w.safetensors")
    out = load_weights(path)
    assert sorted(out) == sorted(sd)
    for k, v in sd.items():
        assert out[k].dtype == v.dtype and out[k].shape == v.shape, k
        np.testing.assert_array_equal(out[k], v)
        assert out[k].flags.writeable


def test_accepts_tensors_and_modules(tmp_path):
    class Tiny:  # anything with state_dict() is treated as a module
        def state_dict(self):
            return {"w": cnnlab.tensor(np.ones((2, 2), np.float32), requires_grad=True)}

    out = load_weights(save_weights(Tiny(), tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(out["w"], np.ones((2, 2), np.float32))


def test_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="keys must be str"):
        save_weights({1: np.zeros(2)}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="state_dict or a module"):
        save_weights([np.zeros(2)], tmp_path / "x.safetensors")


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save_weights({"a": np.zeros(3, np.float32)}, path)
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(safetensors_io.os, "fsync", crash)
    with pytest.raises(OSError, match="simulated"):
        save_weights({"a": np.ones(1000, np.float32)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.safetensors"], "temporary file left behind"


@pytest.mark.parametrize("cut", [4, 20, -5])
def test_truncated_file_names_it(tmp_path, cut):
    path = tmp_path / "w.safetensors"
    save_weights(_state(), path)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(ValueError, match="w.safetensors"):
        load_weights(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_weights(tmp_path / "nope.safetensors")


@requires_torch
def test_torch_reads_ours_and_we_read_torchs(tmp_path):
    import safetensors.torch

    sd = _state()
    path = save_weights(sd, tmp_path / "w.safetensors")
    theirs = safetensors.torch.load_file(str(path))
    for k, v in sd.items():
        np.testing.assert_array_equal(theirs[k].numpy(), v)
    model = torch.nn.Conv2d(3, 4, 3)
    out = load_weights(save_weights(model.state_dict(), tmp_path / "t.safetensors"))
    np.testing.assert_array_equal(out["weight"], model.weight.detach().numpy())
