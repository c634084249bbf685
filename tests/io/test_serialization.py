"""cnnlab.save / cnnlab.load: safetensors round trips, never pickle, clear refusals."""

import numpy as np
import pytest
import safetensors.numpy

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, torch


def test_state_dict_round_trip_loads_into_a_fresh_model(tmp_path):
    cnnlab.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    cnnlab.save(model.state_dict(), tmp_path / "m.safetensors")
    cnnlab.manual_seed(1)
    fresh = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    fresh.load_state_dict(cnnlab.load(tmp_path / "m.safetensors"))
    x = cnnlab.randn(2, 1, 5, 5)
    model.eval(), fresh.eval()
    np.testing.assert_array_equal(model(x).numpy(), fresh(x).numpy())


def test_nested_dict_keeps_structure_and_kinds(tmp_path):
    obj = {"model": {"w": cnnlab.randn(2, 3), "b": np.arange(3)}, "step": cnnlab.tensor(4)}
    cnnlab.save(obj, tmp_path / "n.safetensors")
    back = cnnlab.load(tmp_path / "n.safetensors")
    assert list(back) == ["model", "step"] and list(back["model"]) == ["w", "b"]
    assert isinstance(back["model"]["w"], cnnlab.Tensor)
    assert isinstance(back["model"]["b"], np.ndarray)
    np.testing.assert_array_equal(back["model"]["w"].numpy(), obj["model"]["w"].numpy())
    np.testing.assert_array_equal(back["model"]["b"], obj["model"]["b"])
    # nested names are flattened with dots in the file itself
    raw = safetensors.numpy.load_file(str(tmp_path / "n.safetensors"))
    assert sorted(raw) == ["model.b", "model.w", "step"]


def test_single_tensor_round_trip(tmp_path):
    t = cnnlab.tensor([[1.0, 2.0]], dtype=np.float64)
    cnnlab.save(t, tmp_path / "t.safetensors")
    back = cnnlab.load(tmp_path / "t.safetensors")
    assert isinstance(back, cnnlab.Tensor) and back.dtype == np.float64
    np.testing.assert_array_equal(back.numpy(), t.numpy())


def test_foreign_safetensors_file_loads_flat(tmp_path):
    safetensors.numpy.save_file({"a.b": np.ones(2, np.float32)}, str(tmp_path / "f.safetensors"))
    back = cnnlab.load(tmp_path / "f.safetensors")
    assert list(back) == ["a.b"] and isinstance(back["a.b"], cnnlab.Tensor)


def test_unsupported_objects_are_refused_with_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="cannot store a Linear at the top level.*state_dict"):
        cnnlab.save(nn.Linear(2, 2), tmp_path / "x")
    with pytest.raises(ValueError, match="cannot store a Linear at 'net'.*save its state_dict"):
        cnnlab.save({"epoch": 1, "net": nn.Linear(2, 2)}, tmp_path / "x")
    with pytest.raises(ValueError, match="cannot store a function at 'f'.*never pickles"):
        cnnlab.save({"f": lambda: 1}, tmp_path / "x")
    with pytest.raises(ValueError, match="same name 'a.b'"):
        cnnlab.save({"a.b": np.ones(1), "a": {"b": np.ones(1)}}, tmp_path / "x")


def test_a_tutorials_training_checkpoint_round_trips(tmp_path):
    """torch.save({'epoch': ..., 'model_state_dict': ..., 'optimizer_state_dict': ...}) as the
    tutorials write it: numbers, int-keyed optimiser state, tuples, None; training resumes."""
    cnnlab.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = cnnlab.optim.Adam(model.parameters(), lr=0.01)
    x = cnnlab.randn(8, 3)

    def step(m, o):
        o.zero_grad()
        m(x).pow(2).mean().backward()
        o.step()

    step(model, opt)
    ckpt = {"epoch": 3, "model_state_dict": model.state_dict(), "loss": float("nan"),
            "optimizer_state_dict": opt.state_dict(), "extra": (1, None, [2.5, "a"])}  # fmt: skip
    cnnlab.save(ckpt, tmp_path / "ckpt.pt")
    back = cnnlab.load(tmp_path / "ckpt.pt")
    assert back["epoch"] == 3 and np.isnan(back["loss"]) and back["extra"] == (1, None, [2.5, "a"])
    assert sorted(back["optimizer_state_dict"]["state"]) == [0, 1]
    twin = nn.Linear(3, 2)
    twin.load_state_dict(back["model_state_dict"])
    twin_opt = cnnlab.optim.Adam(twin.parameters(), lr=0.5)
    twin_opt.load_state_dict(back["optimizer_state_dict"])
    assert twin_opt.param_groups[0]["lr"] == 0.01
    step(model, opt)
    step(twin, twin_opt)
    np.testing.assert_array_equal(twin.weight.numpy(), model.weight.numpy())


def test_a_state_dict_keeps_flat_names_for_other_readers(tmp_path):
    cnnlab.save(nn.Linear(2, 2).state_dict(), tmp_path / "m.safetensors")
    assert sorted(safetensors.numpy.load_file(str(tmp_path / "m.safetensors"))) == [
        "bias",
        "weight",
    ]


def test_corrupt_file_raises_naming_it(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(ValueError, match="bad.safetensors: not a valid safetensors file"):
        cnnlab.load(p)


@requires_torch
@pytest.mark.parametrize("zipped", [True, False])
def test_torch_state_dict_loads_in_one_line(tmp_path, zipped):
    """A state_dict saved by torch.save goes through the safe reader into load_state_dict."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    theirs[1].running_mean.uniform_()
    p = tmp_path / "m.pth"
    torch.save(theirs.state_dict(), p, _use_new_zipfile_serialization=zipped)
    state = cnnlab.load(p, map_location="cpu", weights_only=True)
    assert isinstance(state["0.weight"], cnnlab.Tensor) and list(state) == list(theirs.state_dict())
    ours = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    ours.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((2, 1, 5, 5)).astype(np.float32)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(cnnlab.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)


@requires_torch
def test_torch_checkpoint_structure_and_file_objects(tmp_path):
    import io

    buf = io.BytesIO()
    torch.save({"epoch": 3, "model": {"w": torch.ones(2)}, "hist": [torch.zeros(1), 0.5]}, buf)
    buf.seek(0)
    back = cnnlab.load(buf, map_location=torch.device("cpu"))
    assert back["epoch"] == 3 and back["hist"][1] == 0.5
    assert isinstance(back["model"]["w"], cnnlab.Tensor) and back["hist"][0].shape == (1,)
    out = io.BytesIO()
    cnnlab.save({"w": cnnlab.ones(2)}, out)
    out.seek(0)
    np.testing.assert_array_equal(cnnlab.load(out)["w"].numpy(), [1.0, 1.0])


@requires_torch
def test_code_in_a_torch_file_is_refused(tmp_path):
    p = tmp_path / "evil.pth"
    torch.save({"f": print}, p)  # a pickled function: torch.load(weights_only=True) refuses too
    with pytest.raises(cnnlab.io.UnsafePickleError):
        cnnlab.load(p)


def test_pytorch_arguments_and_their_refusals(tmp_path):
    import pickle

    p = tmp_path / "t.safetensors"
    cnnlab.save({"w": cnnlab.ones(2)}, p, pickle_module=pickle, pickle_protocol=4)
    assert cnnlab.load(p, map_location=lambda s, loc: s, mmap=False)["w"].shape == (2,)
    with pytest.raises(ValueError, match="weights_only=False would unpickle.*never unpickles"):
        cnnlab.load(p, weights_only=False)
    with pytest.raises(ValueError, match="map_location 'tpu' is not a device"):
        cnnlab.load(p, map_location="tpu")
    with pytest.raises(ValueError, match="pickle_module=.*never a pickle"):
        cnnlab.save({"w": cnnlab.ones(2)}, p, pickle_module=object())
