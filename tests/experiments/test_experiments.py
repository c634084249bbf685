"""Every experiment end to end on a slice of Fashion-MNIST: the report, figures and
results.json exist and their numbers are the sub-runs' own."""

import json
import math
from pathlib import Path

import pytest

from cnnlab.experiments import names
from cnnlab.experiments.probes import read_csv
from cnnlab.experiments.runner import eval_rows

ALL = ["depth", "ablation", "batchnorm", "init", "activation", "pooling", "dropout"]


def test_names_are_the_lectures_in_order():
    assert names() == [*ALL, "transfer"]  # transfer has its own tests (test_transfer.py)


@pytest.mark.parametrize("name", ALL)
def test_report_figures_and_results_match_the_sub_runs(tiny_runs, name):
    results, out = tiny_runs(name)
    assert results["verdict"] in ("reproduced", "not reproduced", "inconclusive")
    saved = json.loads((out / "results.json").read_text())
    assert saved["verdict"] == results["verdict"] and saved["experiment"] == name
    report = (out / "report.md").read_text()
    assert results["claim"] in report and f"Verdict: **{results['verdict']}**" in report
    assert "quick budget" in report  # the warning that the verdict may not hold
    for fig in results["figures"]:
        assert (out / fig["file"]).stat().st_size > 2000 and f"]({fig['file']})" in report
    for c in results["criteria"]:
        assert f"- {c['status']}: {c['text']}" in report
    assert results["runs"], "no sub-runs"
    for run_name, run in results["runs"].items():
        run_dir = out / run_name
        assert (run_dir / "metrics.csv").exists() and (run_dir / "subrun.json").exists()
        if run["diverged"]:  # stopped before its first checkpoint
            continue
        assert (run_dir / "last.safetensors").exists() and (run_dir / "curves.png").exists()
        summary = json.loads((run_dir / "summary.json").read_text())
        assert saved["runs"][run_name]["test_acc"] == summary["test_acc"]
        epochs = [r for r in read_csv(run_dir / "metrics.csv") if r["kind"] == "epoch"]
        assert epochs[-1]["val_acc"] == pytest.approx(summary["test_acc"])
        assert f"| `{run_name}/` | {run['seed']} | {summary['test_acc']:.4g} |" in report


def _last_eval(out, run):
    return eval_rows({"dir": str(out / run)})[-1]


def test_dropout_numbers_are_the_last_evaluation(tiny_runs):
    results, out = tiny_runs("dropout")
    for i, group in enumerate(("none", "dropout", "weight-decay")):
        row = _last_eval(out, f"{group}-seed0")
        assert results["numbers"]["train_acc"][group] == [row["acc"]]
        assert results["numbers"]["test_acc"][group] == [row["val_acc"]]
        assert results["table"]["rows"][i][1] == f"{row['acc']:.3f}"


def test_depth_errors_are_the_eval_rows(tiny_runs):
    results, out = tiny_runs("depth")
    for m in ("plain20", "plain56", "resnet20", "resnet56"):
        row = _last_eval(out, f"{m}-seed0")
        assert results["numbers"]["train_error"][m] == [pytest.approx(1 - row["acc"])]
        assert results["numbers"]["test_error"][m] == [pytest.approx(1 - row["val_acc"])]


def test_init_statistics_are_the_sub_runs_and_the_he_claim_holds(tiny_runs):
    results, out = tiny_runs("init")
    for g in ("he", "xavier", "small", "large"):
        stats = json.loads((out / f"{g}-seed0" / "layer_stats.json").read_text())
        assert results["numbers"]["act_std"][g] == stats["act_std"]
    ratio = results["numbers"]["act_std_ratio"]
    assert len(ratio["he"]) == 30
    assert all(0.5 <= r <= 2.0 for r in ratio["he"])
    assert ratio["small"][-1] < 1e-20  # orders of magnitude down
    large = ratio["large"][-1]
    assert (isinstance(large, str) and large in ("inf", "nan")) or large > 1e20
    statuses = [c["status"] for c in results["criteria"][:3]]
    assert statuses == ["holds", "holds", "holds"]  # deterministic: hold at any budget


def test_pooling_shift_accuracies_are_the_sub_runs(tiny_runs):
    results, out = tiny_runs("pooling")
    for p in ("max", "avg", "strided", "none"):
        shifts = json.loads((out / f"{p}-seed0" / "shifts.json").read_text())["acc_by_shift"]
        assert results["numbers"]["acc_by_shift"][p] == {s: [v] for s, v in shifts.items()}


def test_ablation_parameter_counts(tiny_runs):
    results, _ = tiny_runs("ablation")
    params = results["numbers"]["params"]
    fc6, fc7 = 2048 * 1024 + 1024, 1024 * 1024 + 1024
    assert params["full"] - params["no-fc7"] == fc7
    assert params["full"] - params["no-fc6-fc7"] == fc6 + fc7 + (1024 - 2048) * 10  # fc8 widens
    assert results["criteria"][0]["status"] == "holds"  # fc6 + fc7 are most of the weights


def test_batchnorm_percentiles_are_logged_for_every_evaluation(tiny_runs):
    results, out = tiny_runs("batchnorm")
    rows = read_csv(Path(out) / "mlp-seed0" / "percentiles.csv")
    evals = eval_rows({"dir": str(out / "mlp-seed0")})
    assert [r["step"] for r in rows] == [r["step"] for r in evals]
    assert all(r["p15"] <= r["p50"] <= r["p85"] for r in rows)
    assert all(math.isfinite(v) for v in results["numbers"]["drift"]["mlp"])


def test_activation_gradient_norms_per_layer(tiny_runs):
    results, out = tiny_runs("activation")
    rows = read_csv(Path(out) / "relu-seed0" / "grad_norms.csv")
    assert [r["step"] for r in rows] == [1, 3]  # the first and the last step
    grads = results["numbers"]["grad_norms"]["relu"]["first_step"]
    assert len(grads) == 6 and grads == [rows[0][f"layer{i + 1}"] for i in range(6)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_the_quick_budget_runs_end_to_end(tmp_path, name):
    from cnnlab import experiments

    results = experiments.run(name, budget="quick", out=tmp_path, progress=False)
    assert (tmp_path / "report.md").exists() and (tmp_path / "results.json").exists()
    assert results["verdict"] in ("reproduced", "not reproduced", "inconclusive")
    if name == "init":  # the statistics at initialisation hold at any budget
        assert [c["status"] for c in results["criteria"][:3]] == ["holds"] * 3
