"""The runner: resume skips finished sub-runs and restarts an unfinished one; bad requests
fail with one clear line (in Python and on the command line)."""

import json

import pytest

from cnnlab import experiments
from cnnlab.cli.main import main
from cnnlab.experiments import ExperimentError

from .conftest import TINY


def _run(name, out, **kw):
    return experiments.run(
        name, budget="quick", seeds=1, out=out, progress=False, knobs=TINY[name], **kw
    )


def test_rerun_skips_finished_sub_runs_and_restarts_an_unfinished_one(tmp_path):
    first = _run("dropout", tmp_path)
    kept = tmp_path / "none-seed0" / "metrics.csv"
    kept_text, kept_mtime = kept.read_text(), kept.stat().st_mtime_ns
    # a run killed part-way: its folder exists without the subrun.json marker
    killed = tmp_path / "dropout-seed0"
    (killed / "subrun.json").unlink()
    (killed / "metrics.csv").write_text("kind,epoch\nstep,1\n")
    second = _run("dropout", tmp_path)
    assert kept.stat().st_mtime_ns == kept_mtime and kept.read_text() == kept_text
    assert (killed / "subrun.json").exists()
    assert (killed / "metrics.csv").read_text() != "kind,epoch\nstep,1\n"
    # the restarted sub-run is deterministic for its seed: the same numbers again
    assert second["numbers"] == first["numbers"]
    assert not (tmp_path / "running.lock").exists()


def test_unknown_experiment_lists_the_known_ones():
    with pytest.raises(ExperimentError, match="unknown experiment 'speed'; known: depth, "):
        experiments.run("speed")


def test_a_data_set_an_experiment_cannot_use_says_why(tmp_path):
    with pytest.raises(ExperimentError, match=r"'pooling' cannot use data 'digits': shifts"):
        experiments.run("pooling", data="digits", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_an_out_holding_another_experiment_is_refused(tmp_path):
    (tmp_path / "experiment.json").write_text(
        json.dumps({"experiment": "init", "budget": "quick", "data": "fashion-mnist", "seeds": 1})
    )
    with pytest.raises(ExperimentError, match="holds experiment 'init'"):
        experiments.run("dropout", budget="quick", seeds=1, out=tmp_path)
    with pytest.raises(ExperimentError, match="holds experiment 'init' \\(budget quick"):
        experiments.run("init", budget="standard", out=tmp_path)  # same name, other budget


def test_a_non_empty_folder_without_an_experiment_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ExperimentError, match="not empty and holds no experiment"):
        experiments.run("init", budget="quick", out=tmp_path)


def test_unknown_setting_and_bad_budget(tmp_path):
    with pytest.raises(ExperimentError, match="has no setting \\['imagez'\\]"):
        experiments.run("dropout", out=tmp_path / "a", knobs={"imagez": 3})
    with pytest.raises(ExperimentError, match="unknown budget 'huge'"):
        experiments.run("dropout", budget="huge")


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["experiment", "speed"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown experiment 'speed'; known: depth" in err
    assert main(["experiment", "depth", "--data", "digits", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot use data 'digits'" in err and "16x16" in err


def test_cli_list_names_each_experiment_with_claim_and_source(capsys):
    assert main(["experiment", "list"]) == 0
    out = capsys.readouterr().out
    for name in experiments.names():
        exp = experiments.get(name)
        assert f"{name} " in out and exp.claim in out and exp.source in out


def test_a_folder_claimed_without_knobs_can_be_claimed_again(tmp_path):
    # regression: rerunning a default-settings experiment into its folder raised KeyError
    from cnnlab.experiments.runner import _claim_folder

    header = {"experiment": "init", "budget": "standard", "data": "fashion-mnist", "seeds": 2}
    _claim_folder(tmp_path, header)
    _claim_folder(tmp_path, dict(header))  # no error: the same experiment
    with pytest.raises(ExperimentError, match="holds experiment 'init'"):
        _claim_folder(tmp_path, {**header, "knobs": {"limit": 10}})
