"""The models a lab serves (cnnlab/serve/lab.py): only those it was started with unless the
zoo is allowed, within the memory budget, and a job's private copy of a model."""

from __future__ import annotations

import pytest

from cnnlab.serve.encode import BadInput
from cnnlab.serve.lab import Lab, model_bytes


def test_without_allow_zoo_only_the_servers_models_are_offered(runs_dir):
    lab = Lab(runs_dir)
    ids = [m["id"] for m in lab.catalogue()["models"]]
    assert ids == ["run:tiny/best.safetensors"]
    with pytest.raises(BadInput, match="unknown id 'zoo:vgg16'"):
        with lab.use("zoo:vgg16"):
            pass
    only = Lab(runs_dir / "missing", model="lenet5")
    assert [m["id"] for m in only.catalogue()["models"]] == ["zoo:lenet5"]
    bare = Lab(runs_dir / "missing")
    assert [m["id"] for m in bare.catalogue()["models"]] == ["zoo:fashion_cnn"]


def test_a_model_over_the_memory_budget_is_refused(runs_dir):
    lab = Lab(runs_dir, memory_budget=10_000)  # LeNet-5's checkpoint is ~250 kB
    with pytest.raises(BadInput, match="more than the server's memory budget"):
        with lab.use(None):
            pass
    zoo = Lab(runs_dir, allow_zoo=True, memory_budget=300_000)
    with pytest.raises(BadInput, match=r"zoo:fashion_cnn: needs \d+ MB"):
        with zoo.use("zoo:fashion_cnn"):  # ~1.6 MB of weights
            pass


def test_loaded_models_stay_within_the_budget(runs_dir):
    lab = Lab(runs_dir, allow_zoo=True, cache=8)
    with lab.use(None) as m:
        lenet = m.bytes
    assert lenet == model_bytes(m.info.model) > 0
    lab.budget = lenet + 1000  # room for one model only: loading another drops the first
    with lab.use("zoo:lenet5"):
        pass
    assert list(lab._cache) == ["zoo:lenet5"]


def test_a_jobs_copy_is_its_own_and_counts_against_the_budget(runs_dir):
    lab = Lab(runs_dir)
    mine = lab.copy(None)
    with lab.use(None) as m:
        assert mine.info.model is not m.info.model and lab.job_bytes == m.bytes
        a = next(iter(m.info.model.parameters())).array
        b = next(iter(mine.info.model.parameters())).array
        assert a is not b and (a == b).all()
    lab.budget = 2 * m.bytes - 1  # no room for a second copy
    with pytest.raises(BadInput, match="a job's copy needs"):
        lab.copy(None)
    lab.release(mine)
    assert lab.job_bytes == 0


def test_a_checkpoint_broken_after_listing_is_a_400_naming_it(tmp_path):
    from cnnlab.serve.app import create_app

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "best.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{broken")
    client = create_app(Lab(tmp_path)).test_client()
    r = client.get("/api/model")
    assert r.status_code == 400
    msg = r.get_json()["error"]
    assert "cannot be opened" in msg and "best.safetensors" in msg and "\n" not in msg
