"""The one cnnlab line that ends a failed ``--nprocs`` job (cnnlab/distributed/launch.py):
which rank, what happened (from Open MPI's banner or the rank's own report) and the last
good checkpoint, read from its header."""

from __future__ import annotations

from cnnlab.distributed.launch import _what_happened, last_checkpoint

KILLED = """--------------------------------------------------------------------------
prterun noticed that process rank 1 with PID 13106 on node vm exited on
signal 9 (Killed).
--------------------------------------------------------------------------"""
STATUS = """Primary job  terminated normally, but 1 process returned
a non-zero exit code. Per user-direction, the job has been aborted.
  Process name: [[4242,1],3]
  Exit code:    7"""
FAILED = "cnnlab: rank 0 of 2 failed: MemoryError: x; stopping every rank (the last ...)\n"


def test_what_happened_names_the_rank_and_the_cause():
    assert _what_happened(KILLED, 2, 137) == "rank 1 of 2 was killed by signal 9 (Killed)"
    assert _what_happened(STATUS, 4, 7) == "rank 3 of 4 exited with status 7"
    assert _what_happened(FAILED + KILLED, 2, 1) == "rank 0 of 2 failed (MemoryError: x)"
    assert _what_happened("", 2, 1) == "mpirun ended with status 1"


def test_last_checkpoint_reads_the_epoch_from_the_header(tmp_path):
    from cnnlab import models
    from cnnlab.train.checkpoint import save_checkpoint

    assert "none in" in last_checkpoint(tmp_path)
    save_checkpoint(tmp_path / "last.safetensors", model=models.create("lenet5"), epoch=3)
    path = tmp_path / "last.safetensors"
    assert last_checkpoint(tmp_path) == last_checkpoint(path) == f"{path} (epoch 3)"


def test_a_failing_rank_names_itself_the_cause_and_the_checkpoint(tmp_path, monkeypatch, capsys):
    from cnnlab import models
    from cnnlab.distributed import launch, mpi
    from cnnlab.train.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "last.safetensors", model=models.create("lenet5"), epoch=2)
    aborted = []
    monkeypatch.setattr(mpi, "abort", aborted.append)
    monkeypatch.setattr(mpi, "rank", lambda: 1)
    monkeypatch.setattr(mpi, "world_size", lambda: 4)
    launch.fail_rank(MemoryError("out of\nmemory"), tmp_path)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and aborted == [1]
    assert err.startswith("cnnlab: rank 1 of 4 failed: MemoryError: out of memory; stopping")
    assert f"last good checkpoint: {tmp_path / 'last.safetensors'} (epoch 2)" in err
    assert _what_happened(err, 4, 1) == "rank 1 of 4 failed (MemoryError: out of memory)"
