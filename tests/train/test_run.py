"""No lost runs (cnnlab/train/run.py's check_run_dir): a folder that holds a run is refused
unless it is the run being resumed or the caller asked to overwrite it."""

from __future__ import annotations

import pytest

from cnnlab.train.run import RUN_FILES, check_run_dir


@pytest.fixture()
def old_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("last.safetensors", "best.safetensors", "metrics.csv", "summary.json"):
        (run / name).write_text("the old run")
    (run / "notes.txt").write_text("the user's own file")
    return run


def test_a_folder_holding_a_run_is_refused(old_run):
    with pytest.raises(FileExistsError, match="already holds a run .*--resume .*--overwrite"):
        check_run_dir(old_run)
    assert (old_run / "last.safetensors").read_text() == "the old run"


def test_resuming_the_run_in_its_own_folder_passes(old_run, tmp_path):
    check_run_dir(old_run, resume=old_run)
    check_run_dir(old_run, resume=old_run / "last.safetensors")
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(FileExistsError):  # resuming another run into this one's folder
        check_run_dir(old_run, resume=other)


def test_overwrite_deletes_only_the_runs_files(old_run):
    check_run_dir(old_run, overwrite=True)
    assert not any((old_run / n).exists() for n in RUN_FILES)
    assert (old_run / "notes.txt").exists()


def test_empty_or_missing_folders_pass(tmp_path):
    check_run_dir(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_run_dir(tmp_path / "empty")
