"""The robustness report: curves, tables, grids, JSON."""

from __future__ import annotations

import json

import numpy as np

from cnnlab.attacks import fgsm, markdown_table, plot_examples, plot_images, robustness_curve
from cnnlab.attacks.report import plot_robustness_curve, write_summary
from tests.attacks.toys import images, tiny_cnn


def test_curve_table_and_plot(tmp_path):
    model = tiny_cnn()
    x = images(16)
    rows = robustness_curve(
        model, x, None, [0.0, 0.05, 0.2], pgd_steps=3, rng=np.random.default_rng(0)
    )
    assert [(r["method"], r["eps"]) for r in rows] == [
        (m, e) for m in ("fgsm", "pgd") for e in (0.0, 0.05, 0.2)
    ]
    # labels default to the clean predictions: accuracy 1 at ε = 0, and no success there
    assert rows[0]["accuracy"] == 1.0 and rows[0]["success_rate"] == 0.0
    assert rows[5]["accuracy"] <= rows[3]["accuracy"]
    table = markdown_table(rows, ["method", "eps", "accuracy", "success_rate", "mean_linf"])
    assert table.splitlines()[0] == "| method | eps | accuracy | success_rate | mean_linf |"
    assert len(table.splitlines()) == 2 + len(rows)
    png = plot_robustness_curve(rows, tmp_path / "curve.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_example_grid_and_summary(tmp_path):
    model = tiny_cnn(channels=3)
    r = fgsm(model, images(3, channels=3), eps=0.1)
    png = plot_examples(r, tmp_path / "grid.png", class_names=list("abcde"))
    assert png.stat().st_size > 1000
    plot_images(r.x_adv, ["a", "b", "c"], tmp_path / "imgs.png")
    s = write_summary({**r.summary(), "nan": float("nan"), "v": np.zeros(3)}, tmp_path / "s.json")
    d = json.loads(s.read_text())
    assert d["method"] == "fgsm" and d["nan"] is None and "v" not in d
