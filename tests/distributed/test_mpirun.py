"""Several processes under mpirun (2 ranks on localhost, a few seconds each).

Equivalence: N ranks x batch B take the same steps as one process with batch N x B on the
same images in the same order (no batch norm, or --sync-bn), to float32 tolerance; and the
ranks hold identical parameters. Faults: a killed rank ends the job quickly with a message
naming it and leaves the last checkpoint loadable; ranks with different configurations are
refused at start-up; a resume on another number of processes says what to do.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from cnnlab.train.checkpoint import load_checkpoint
from tests.distributed.conftest import ROOT, run_mpi, run_python

pytestmark = pytest.mark.mpirun
LOOP = "tests/distributed/worker_loop.py"


def _states(folder, n):
    return [dict(np.load(folder / f"rank{r}.npz")) for r in range(n)]


@pytest.mark.parametrize("norm", ["plain", "syncbn"])
def test_user_loop_two_ranks_equal_one_process_with_the_double_batch(tmp_path, norm):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    single = run_python([LOOP, str(one), "32", "6", "bn" if norm == "syncbn" else "plain"])
    assert single.returncode == 0, single.stderr
    res = run_mpi(2, [LOOP, str(two), "16", "6", norm])
    assert res.returncode == 0, res.stderr
    (ref,), (r0, r1) = _states(one, 1), _states(two, 2)
    for k in ref:
        np.testing.assert_array_equal(r0[k], r1[k], err_msg=f"{k} differs across ranks")
        np.testing.assert_allclose(r0[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_local_batchnorm_step_is_the_mean_of_the_ranks_gradients_by_hand(tmp_path):
    """With local batch norm each rank normalises its own half: one step equals the mean of
    the gradients of the two halves, each computed alone, applied by hand."""
    import cnnlab
    from cnnlab import nn
    from cnnlab.distributed import DistributedSampler
    from tests.distributed import worker_loop as w

    res = run_mpi(2, [LOOP, str(tmp_path), "16", "1", "bn"])
    assert res.returncode == 0, res.stderr
    r0, r1 = _states(tmp_path, 2)
    ds = w.dataset()
    grads = []
    for rank in (0, 1):
        model = w.build_model("bn", seed=1)  # rank 0's initialisation, broadcast to all
        idx = DistributedSampler(ds, 2, rank, seed=w.SEED).indices(0)[:16]
        x = cnnlab.tensor(np.stack([ds[int(i)][0] for i in idx]))
        y = cnnlab.tensor(np.array([ds[int(i)][1] for i in idx]))
        nn.CrossEntropyLoss()(model(x), y).backward()
        grads.append({k: np.asarray(p.grad) for k, p in model.named_parameters()})
    start = {k: p.numpy() for k, p in w.build_model("bn", seed=1).named_parameters()}
    for k, p0 in start.items():
        by_hand = p0 - 0.1 * (grads[0][k] + grads[1][k]) / 2  # SGD's first step: lr * g
        np.testing.assert_array_equal(r0[k], r1[k])
        np.testing.assert_allclose(r0[k], by_hand, rtol=1e-5, atol=1e-6, err_msg=k)


def _train_args(out, batch, *extra):
    return [
        "-m", "cnnlab", "train", "--data", "mnist-subset", "--model", "lenet5", "--limit", "256",
        "--epochs", "1", "--batch-size", str(batch), "--out", str(out), "--no-progress", *extra,
    ]  # fmt: skip


def test_cli_two_ranks_equal_one_process_and_record_the_global_batch(tmp_path):
    single = run_python(_train_args(tmp_path / "one", 32))
    assert single.returncode == 0, single.stderr
    res = run_mpi(2, _train_args(tmp_path / "two", 16, "--distributed"))
    assert res.returncode == 0, res.stderr
    assert "global batch 2 x 16 = 32" in res.stderr
    a = load_checkpoint(tmp_path / "one" / "last.safetensors").model_state
    b = load_checkpoint(tmp_path / "two" / "last.safetensors").model_state
    for k in a:
        np.testing.assert_allclose(np.asarray(b[k]), np.asarray(a[k]), rtol=1e-5, atol=1e-6)
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert (summary["world_size"], summary["global_batch_size"]) == (2, 32)
    assert summary["test_images"] == 2000  # the reduced evaluation counts every image once


def _rank_pid(mpirun_pid: int, rank: int) -> int | None:
    for child in subprocess.run(
        ["pgrep", "-P", str(mpirun_pid)], capture_output=True, text=True
    ).stdout.split():
        try:
            env = open(f"/proc/{child}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
            return int(child)
    return None


def test_killed_rank_ends_the_job_and_the_checkpoint_resumes_on_the_same_n(tmp_path):
    out = tmp_path / "run"
    args = _train_args(out, 16, "--distributed")
    args[args.index("--limit") + 1], args[args.index("--epochs") + 1] = "2000", "2"
    from cnnlab.distributed import launch

    cmd = launch.mpirun_command(2, [], launch.find_mpirun())[:-2] + args
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "last.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # the first epoch's checkpoint
    assert (out / "last.safetensors").exists(), "no checkpoint after the first epoch"
    victim = _rank_pid(proc.pid, 1)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - killed < 20, "the other rank kept waiting"
    assert proc.returncode != 0
    assert "rank 1" in err and "signal 9" in err, err
    ckpt = load_checkpoint(out)
    assert ckpt.epoch == 1 and ckpt.config["world_size"] == 2
    # another number of processes: one clear message saying what to do
    other = run_python(["-m", "cnnlab", "train", "--distributed", "--resume", str(out)])
    assert other.returncode != 0
    assert "trained on 2 process(es)" in other.stderr and "mpirun -n 2" in other.stderr
    again = run_mpi(2, ["-m", "cnnlab", "train", "--distributed", "--resume", str(out)], 180)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "summary.json").read_text())["epochs"] == 2


def test_ranks_with_different_configurations_are_refused(tmp_path):
    from cnnlab.distributed import launch

    base = launch.mpirun_command(1, [], launch.find_mpirun())
    mpirun, opts, python = base[0], base[3:-3], base[-3]
    rank_args = [_train_args(tmp_path / "x", 16, "--distributed", "--seed", s) for s in "01"]
    cmd = [mpirun, *opts, "-n", "1", python, *rank_args[0], ":", "-n", "1", python, *rank_args[1]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "--seed (0 on rank 0, 1 on rank 1)" in res.stderr, res.stderr
    assert "stopping every rank" in res.stderr


def test_the_documented_user_loop_learns_on_two_ranks():
    res = run_mpi(2, ["docs/distributed/train_loop.py"], timeout=180)
    assert res.returncode == 0, res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("epoch 3:") and last.endswith("on 2 rank(s)"), res.stdout
    assert float(last.split("accuracy ")[1].split()[0]) > 0.9
    assert len(res.stdout.strip().splitlines()) == 3  # rank 0 alone prints


@pytest.mark.slow
def test_nprocs_ends_a_killed_job_with_one_cnnlab_line(tmp_path):
    out = tmp_path / "run"
    args = _train_args(out, 16)
    args[args.index("--limit") + 1], args[args.index("--epochs") + 1] = "2000", "2"
    cmd = [sys.executable, *args, "--nprocs", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not (out / "last.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # the first epoch's checkpoint
    mpirun = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
    victim = _rank_pid(int(mpirun.stdout.split()[0]), 1)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    last = err.strip().splitlines()[-1]
    assert last.startswith("cnnlab: rank 1 of 2 was killed by signal 9"), err[-3000:]
    assert f"last good checkpoint: {out / 'last.safetensors'} (epoch 1)" in last
    assert f"--nprocs 2 --resume {out}" in last
