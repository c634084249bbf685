"""The transfer experiment end to end on a slice of Fashion-MNIST (EfficientNet-Lite0 at
32 px; the claims need not hold), and its one-line errors."""

import json

import pytest

from cnnlab.experiments import ExperimentError

TINY = dict(
    train_images=120,
    test_images=60,
    test_images_size2=40,
    sizes=(32, 40),
    counts=(1, 3),
    counts_size2=(1,),
    counts_top=(1,),
    counts_all=(1,),
    counts_scratch=(1, 3),
    reverse_counts=(1, 3),
    probe_steps=30,
    top_max_steps=3,
    all_max_steps=2,
    ft_min_steps=2,
    scratch_max_steps=5,
    scratch_min_steps=2,
    source_epochs=1,
)


def _weights():
    from cnnlab.io import weights_path

    try:
        weights_path("efficientnet_lite0")
    except FileNotFoundError as e:
        pytest.skip(str(e))


@pytest.mark.slow
def test_the_experiment_runs_end_to_end_and_reports_every_method(tmp_path):
    from cnnlab import experiments

    _weights()
    knobs = {**TINY, "cache": str(tmp_path / "cache")}
    results = experiments.run(
        "transfer", "quick", out=tmp_path / "out", progress=False, knobs=knobs
    )
    out = tmp_path / "out"
    saved = json.loads((out / "results.json").read_text())
    assert saved["verdict"] == results["verdict"]
    points = results["numbers"]["points"]
    assert set(points) == {
        *("probe-32", "probe-40", "knn-32", "top", "all", "scratch", "digits"),
        *("rev-source", "rev-probe-32", "rev-scratch"),  # the reverse transfer, on the digits
    }
    assert set(points["probe-32"]) == {"1", "3"} and set(points["top"]) == {"1"}
    assert set(points["rev-source"]) == set(points["rev-scratch"]) == {"1", "3"}
    # LP-FT: the probe stage was scored before fine-tuning everything
    all_run = json.loads((out / "all-n1-seed0" / "subrun.json").read_text())["summary"]
    assert 0.0 <= all_run["lp_test_acc"] <= 1.0 and all_run["test_images"] == 60
    source = json.loads((out / "reverse-source" / "source.json").read_text())
    assert source["source"] == "fashion-mnist" and source["target"] == "mnist-subset"
    for run_name, run in saved["runs"].items():  # each cell is its sub-run's number
        summary = json.loads((out / run_name / "subrun.json").read_text())["summary"]
        assert run["test_acc"] == summary["test_acc"]
    assert (out / "transfer.png").stat().st_size > 2000
    report_md = (out / "report.md").read_text()
    assert "| probe-32 |" in report_md and "| rev-source |" in report_md
    assert "Reverse transfer (fashion-mnist -> mnist-subset)" in report_md
    assert f"1/class seed 0: {all_run['lp_test_acc']:.3f} -> {all_run['test_acc']:.3f}" in report_md
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "efficientnet_lite0-32px-fashion-mnist-test-first60.npz",
        "efficientnet_lite0-32px-fashion-mnist-train-first120.npz",
        "efficientnet_lite0-32px-mnist-subset-test-first60.npz",  # the reverse's target
        "efficientnet_lite0-32px-mnist-subset-train-first120.npz",
        "efficientnet_lite0-40px-fashion-mnist-test-first60-40.npz",
        "efficientnet_lite0-40px-fashion-mnist-train-first120-pool10.npz",  # 1 per class
    ]
    again = experiments.run("transfer", "quick", out=out, progress=False, knobs=knobs)  # resume
    assert again["numbers"]["points"] == points


def test_labels_per_class_above_the_data_is_one_clear_line(tmp_path):
    from cnnlab import experiments

    knobs = {**TINY, "counts": (1, 500), "cache": str(tmp_path / "cache")}
    with pytest.raises(ExperimentError, match="500 labels per class asked, but fashion-mnist") as e:
        experiments.run("transfer", "quick", out=tmp_path / "out", progress=False, knobs=knobs)
    assert "\n" not in str(e.value)


def test_labels_per_class_above_the_reverse_target_is_one_clear_line(tmp_path):
    from cnnlab import experiments

    knobs = {**TINY, "reverse_counts": (1, 50), "cache": str(tmp_path / "cache")}
    with pytest.raises(ExperimentError, match="50 labels per class asked, but mnist-subset") as e:
        experiments.run("transfer", "quick", out=tmp_path / "out", progress=False, knobs=knobs)
    assert "\n" not in str(e.value)
