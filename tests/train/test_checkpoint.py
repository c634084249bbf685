"""Checkpoints: round trip, exact resume, atomic writes, clear errors on bad files."""

import json
import os

import numpy as np
import pytest

import cnnlab
from cnnlab import backend, data, models, nn, optim
from cnnlab.optim import lr_scheduler
from cnnlab.train import Trainer, checkpoint
from cnnlab.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def make_run(out_dir, epochs, seed=0):
    """A small fashion_cnn on 8x8 Digits with dropout, momentum, a cosine schedule and a
    shuffling loader: every piece of state a resume has to restore."""
    cnnlab.manual_seed(seed)
    train = data.Digits(train=True)
    train.transform = data.transforms.Compose([data.transforms.RandomCrop(8, padding=1)])
    model = models.create("fashion_cnn", input_size=8, widths=(4, 8), dropout=0.2)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    loader = data.DataLoader(train, batch_size=64, shuffle=True, seed=seed)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4 * len(loader))
    return Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        sched,
        loader,
        epochs=epochs,
        out_dir=out_dir,
        progress=False,
        scheduler_interval="step",
        config={
            "model": "fashion_cnn",
            "num_classes": 10,
            "in_channels": 1,
            "model_options": {"input_size": 8, "widths": [4, 8], "dropout": 0.2},
        },
    )


def params(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def test_resume_ends_with_exactly_the_parameters_of_an_uninterrupted_run(tmp_path):
    full = make_run(tmp_path / "full", epochs=4)
    full.fit()

    first = make_run(tmp_path / "split", epochs=2)
    first.fit()
    cnnlab.manual_seed(12345)  # a new process would start with other random state
    second = make_run(tmp_path / "split", epochs=4, seed=99)
    assert second.resume(tmp_path / "split") == 2
    second.fit()

    want, got = params(full.model), params(second.model)
    assert want.keys() == got.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert [r["loss"] for r in second.history] == [r["loss"] for r in full.history]


def test_round_trip_of_every_part(tmp_path):
    run = make_run(tmp_path, epochs=1)
    run.fit()
    path = tmp_path / "last.safetensors"
    ck = load_checkpoint(path)
    assert ck.epoch == 1 and ck.config["model_options"]["widths"] == [4, 8]
    for k, v in run.model.state_dict().items():
        np.testing.assert_array_equal(ck.model_state[k], v)
    opt_state = run.optimizer.state_dict()
    assert ck.optimizer_state["param_groups"] == opt_state["param_groups"]
    assert set(ck.optimizer_state["state"]) == set(opt_state["state"])  # int keys survive
    assert ck.scheduler_state == run.scheduler.state_dict()
    assert ck.loader_state == run.train_loader.state_dict()
    assert ck.rng_state == backend.get_rng_state()
    model, ck2 = checkpoint.model_from_checkpoint(path)
    assert not model.training and ck2.epoch == 1


def test_values_of_every_json_kind_survive(tmp_path):
    model = nn.Linear(2, 3)
    config = {
        "t": (1, 2.5, "x"),
        "n": None,
        "b": True,
        "d": {3: "int key", "k": [1, (2,)]},
        "inf": float("inf"),
        "a": np.arange(4),
        "f": np.float32(0.5),
    }
    save_checkpoint(tmp_path / "c.safetensors", model=model, epoch=7, config=config)
    got = load_checkpoint(tmp_path / "c.safetensors").config
    assert got["t"] == (1, 2.5, "x") and got["n"] is None and got["b"] is True
    assert got["d"] == {3: "int key", "k": [1, (2,)]} and got["inf"] == float("inf")
    np.testing.assert_array_equal(got["a"], np.arange(4))
    assert got["f"] == 0.5


def test_file_is_plain_safetensors_with_prefixed_keys(tmp_path):
    from safetensors import safe_open

    run = make_run(tmp_path, epochs=1)
    run.fit()
    with safe_open(str(tmp_path / "last.safetensors"), "np") as f:
        keys = set(f.keys())
        meta = json.loads(f.metadata()["cnnlab.checkpoint"])
    assert "model.features.0.weight" in keys
    assert any(k.startswith("optim.state.") and k.endswith("momentum_buffer") for k in keys)
    assert meta["epoch"] == 1


def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    model = nn.Linear(3, 2)
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model=model, epoch=1)
    before = path.read_bytes()
    with cnnlab.no_grad():
        model.weight.array[...] = 42.0

    def killed(fd):
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(checkpoint.os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model=model, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_checkpoint(path).epoch == 1
    assert os.listdir(tmp_path) == ["last.safetensors"]  # no temporary file left behind


def test_truncated_file_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model=nn.Linear(30, 20), epoch=1)
    raw = path.read_bytes()
    for cut in (len(raw) - 100, 50, 4):
        path.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match=r"last\.safetensors.*(corrupt|truncated)"):
            load_checkpoint(path)


def test_missing_foreign_and_mismatched_files(tmp_path):
    with pytest.raises(CheckpointError, match="nope.safetensors.*cannot read"):
        load_checkpoint(tmp_path / "nope.safetensors")
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(3, np.float32)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="not a cnnlab checkpoint"):
        load_checkpoint(tmp_path / "plain.safetensors")
    save_checkpoint(tmp_path / "c.safetensors", model=nn.Linear(3, 2), epoch=1)
    with pytest.raises(CheckpointError, match="does not fit"):
        checkpoint.restore(load_checkpoint(tmp_path / "c.safetensors"), nn.Linear(4, 2))


@pytest.mark.parametrize(
    "change, match",
    [
        ({"num_classes": 3_000_000}, r"num_classes=3000000 is not an integer in \[1, 1000000\]"),
        ({"num_classes": 300_000}, "no tensor has 300000 rows"),
        ({"num_classes": True}, "num_classes=True is not an integer"),
        ({"in_channels": 10**6}, "in_channels=1000000 is not an integer"),
        ({"input_size": [28, 10**6]}, r"input_size=\[28, 1000000\] is not two sides"),
        ({"input_size": "big"}, "input_size='big' is not two sides"),
        ({"model_options": [1]}, "model_options is not a mapping"),
    ],
)
def test_a_config_that_does_not_match_its_tensors_is_refused_before_building(
    tmp_path, monkeypatch, change, match
):
    from cnnlab import models
    from cnnlab.train.checkpoint import model_from_checkpoint

    path = tmp_path / "crafted.safetensors"
    cfg = {"model": "lenet5", "num_classes": 10, "in_channels": 1, "input_size": [28, 28]}
    save_checkpoint(path, model=models.create("lenet5"), config={**cfg, **change})
    built = []
    monkeypatch.setattr(models, "create", lambda *a, **k: built.append(a) or pytest.fail())
    with pytest.raises(CheckpointError, match=match) as info:
        model_from_checkpoint(path)
    assert str(path) in str(info.value) and not built  # refused before building anything


def test_a_grey_checkpoint_with_an_rgb_stem_passes_the_config_check(tmp_path):
    from cnnlab import models
    from cnnlab.train.checkpoint import check_config, load_checkpoint

    path = tmp_path / "ok.safetensors"
    cfg = {"model": "lenet5", "num_classes": 10, "in_channels": 3, "input_size": [32, 32]}
    save_checkpoint(path, model=models.create("lenet5"), config=cfg)
    check_config(load_checkpoint(path))  # in_channels is not matched to a weight
