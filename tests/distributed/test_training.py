"""The --distributed run's checks and the --nprocs launcher, in one process (no mpirun)."""

import os

import pytest

from cnnlab.cli.main import main
from cnnlab.distributed import launch, mpi
from cnnlab.distributed.training import from_config, reduce_metrics
from cnnlab.train import recipes


@pytest.fixture
def one_process(monkeypatch):
    monkeypatch.setitem(mpi._state, "initialized", True)
    monkeypatch.setitem(mpi._state, "comm", None)
    for name in mpi._MPIRUN_ENV:
        monkeypatch.delenv(name, raising=False)


def _cfg(**kw):
    return {**recipes.DEFAULTS, "distributed": True, **kw}


def test_an_ordinary_run_has_no_distributed_side(one_process):
    assert from_config({**recipes.DEFAULTS}) is None


def test_distributed_records_the_global_batch_and_says_so(one_process, capsys):
    cfg = _cfg(batch_size=32)
    run = from_config(cfg, None, recipes.DEFAULT_LR)
    assert (cfg["world_size"], cfg["global_batch_size"]) == (1, 32)
    err = capsys.readouterr().err
    assert "global batch 1 x 32 = 32" in err and "outside mpirun runs as one process" in err
    run.full_sizes = {"train": 10, "test": 5}
    assert run.summary()["global_batch_size"] == 32 and run.summary()["lr_scaling"] == "none"


def test_linear_lr_scaling_is_explicit_and_not_applied_again_on_resume(one_process, monkeypatch):
    monkeypatch.setattr(mpi, "world_size", lambda: 4)
    cfg = _cfg(lr_scaling="linear", optimizer="sgd")
    from_config(cfg, None, recipes.DEFAULT_LR)
    assert cfg["lr"] == pytest.approx(0.4)
    resumed = dict(cfg)
    from_config(resumed, "runs/x", recipes.DEFAULT_LR)
    assert resumed["lr"] == pytest.approx(0.4)
    plain = _cfg(lr=0.05)
    from_config(plain, None, recipes.DEFAULT_LR)
    assert plain["lr"] == 0.05  # nothing scaled silently


def test_resume_on_another_number_of_processes_says_what_to_do(one_process):
    cfg = _cfg(world_size=2, batch_size=64)
    with pytest.raises(ValueError) as info:
        from_config(cfg, "runs/a")
    msg = str(info.value)
    assert "trained on 2 process(es) (global batch 2 x 64 = 128); now 1 are running" in msg
    assert "mpirun -n 2 cnnlab train --distributed --resume runs/a" in msg
    assert "--nprocs 2" in msg


def test_bad_lr_scaling_is_refused(one_process):
    with pytest.raises(ValueError, match="--lr-scaling must be one of none, linear, got 'sqrt'"):
        from_config(_cfg(lr_scaling="sqrt"))


def test_reduce_metrics_in_one_process_keeps_the_figures():
    out = reduce_metrics({"loss": 0.5, "acc": 0.25, "n": 8, "extra": 1})
    assert out == {"loss": 0.5, "acc": 0.25, "n": 8, "extra": 1}


def test_mpirun_command_has_open_mpi_options(monkeypatch):
    monkeypatch.setattr(launch, "_is_open_mpi", lambda m: True)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    cmd = launch.mpirun_command(3, ["train"], "/x/mpirun")
    assert cmd[:3] == ["/x/mpirun", "-n", "3"]
    assert "--allow-run-as-root" in cmd and "--oversubscribe" in cmd
    assert cmd[-3:] == ["-m", "cnnlab", "train"]
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-run-as-root" not in launch.mpirun_command(2, [], "/x/mpirun")


def test_no_mpirun_says_how_to_install(monkeypatch):
    monkeypatch.setattr(launch, "find_mpirun", lambda: None)
    with pytest.raises(FileNotFoundError, match=r"pip install 'cnnlab\[mpi\]'"):
        launch.mpirun_command(2, [])


def test_nprocs_starts_mpirun_with_the_same_options(monkeypatch, tmp_path):
    seen = {}

    def fake(n, argv, run_dir=None):
        seen.update(n=n, argv=argv, run_dir=run_dir)
        return 0

    monkeypatch.setattr(launch, "run_mpirun", fake)
    argv = ["train", "--nprocs", "2", "--model", "lenet5", "--batch-size", "16", "--sync-bn"]
    assert main([*argv, "--out", str(tmp_path), "--lr-scaling", "linear"]) == 0
    assert seen["n"] == 2
    got = seen["argv"]
    assert got[:2] == ["train", "--distributed"] and "--nprocs" not in got
    for pair in (["--model", "lenet5"], ["--batch-size", "16"], ["--lr-scaling", "linear"]):
        i = got.index(pair[0])
        assert got[i : i + 2] == pair
    assert "--sync-bn" in got and got[got.index("--out") + 1] == str(tmp_path)
    assert seen["run_dir"] == str(tmp_path)  # where the failure line looks for a checkpoint


def test_nprocs_picks_one_run_directory_for_all_ranks(monkeypatch):
    seen = {}
    monkeypatch.setattr(
        launch, "run_mpirun", lambda n, argv, run_dir: seen.setdefault("argv", argv) and 0
    )
    main(["train", "--nprocs", "2"])
    assert "--out" in seen["argv"] and seen["argv"][seen["argv"].index("--out") + 1]


def test_distributed_without_mpi4py_is_one_clear_line(one_process, monkeypatch, capsys):
    monkeypatch.setitem(mpi._state, "initialized", False)
    monkeypatch.setattr(mpi, "available", lambda: False)
    assert main(["train", "--distributed", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("cnnlab: error: cnnlab.distributed: mpi4py is not installed")


def test_code_fingerprint_changes_with_any_source_file(monkeypatch, tmp_path):
    import cnnlab
    from cnnlab.distributed.training import code_fingerprint

    (tmp_path / "sub").mkdir()
    (tmp_path / "__init__.py").write_text("x = 1\n")
    (tmp_path / "sub" / "op.py").write_text("y = 2\n")
    monkeypatch.setattr(cnnlab, "__file__", str(tmp_path / "__init__.py"))
    before = code_fingerprint()
    assert code_fingerprint() == before
    (tmp_path / "sub" / "op.py").write_text("y = 3\n")
    assert code_fingerprint() != before


def test_cnnlab_distributed_loads_on_first_use():
    import cnnlab

    assert cnnlab.distributed.world_size() >= 1 and "distributed" in dir(cnnlab)


def test_after_backward_runs_between_backward_and_step():
    import numpy as np

    from cnnlab import nn, optim
    from cnnlab.data import ArrayDataset, DataLoader
    from cnnlab.train.trainer import Trainer

    seen = []

    class Spy(Trainer):
        def after_backward(self):
            w = self.model[1].weight
            seen.append((w.grad is not None, w.numpy().copy()))

    rng = np.random.default_rng(0)
    ds = ArrayDataset(rng.integers(0, 256, (12, 2, 2)).astype(np.uint8), rng.integers(0, 3, 12))
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    start = model[1].weight.numpy().copy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    Spy(model, nn.CrossEntropyLoss(), opt, train_loader=DataLoader(ds, 4, seed=0), epochs=1,
        out_dir=None, progress=False).fit()  # fmt: skip
    assert len(seen) == 3 and all(has_grad for has_grad, _ in seen)
    np.testing.assert_array_equal(seen[0][1], start)  # before the first step
    assert not np.array_equal(seen[1][1], start)


def test_nprocs_refuses_an_existing_run_before_starting_mpirun(monkeypatch, tmp_path, capsys):
    (tmp_path / "last.safetensors").write_bytes(b"a finished run")
    monkeypatch.setattr(launch, "run_mpirun", lambda *a: pytest.fail("mpirun was started"))
    assert main(["train", "--nprocs", "2", "--out", str(tmp_path)]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_ranks_with_different_options_are_named(monkeypatch):
    import json

    from cnnlab.distributed import training

    cfgs = [{"seed": 0, "lr": 0.1, "model": "lenet5"}, {"seed": 1, "lr": 0.1, "model": "x"}]
    monkeypatch.setattr(mpi, "gather_text", lambda text: [json.dumps(c) for c in cfgs])
    with pytest.raises(RuntimeError) as info:
        training.check_same_options(cfgs[0])
    msg = str(info.value)
    assert "--model (lenet5 on rank 0, x on rank 1)" in msg and "--seed (0 on rank 0, 1" in msg
    assert "--lr" not in msg
    monkeypatch.setattr(mpi, "gather_text", lambda text: [text, text])
    training.check_same_options(cfgs[0])  # the same everywhere: goes on
