"""cnnlab in a real Jupyter kernel (nbclient): results that end a cell are drawn inline, and
progress bars are notebook widgets."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]

CELLS = [
    "import numpy as np\nimport cnnlab\nfrom cnnlab import models, explain, attacks\n"
    "cnnlab.manual_seed(0)\nmodel = models.create('lenet5').eval()\n"
    "x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)",
    "cnnlab.summary(model, (1, 28, 28))",
    "cnnlab.show(cnnlab.tensor(x))",
    "explain.saliency(model, x[0], target=1)",
    "attacks.fgsm(model, x, np.arange(4), eps=0.1)",
    "feats, labels = cnnlab.features(model, (x, np.arange(4)), batch_size=2)\nfeats.shape",
]


@pytest.fixture(scope="module")
def outputs():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # a cell that raises fails here (CellExecutionError)
    return [cell.outputs for cell in nb.cells]


def _data(outs, kind="execute_result") -> dict:
    found = [o for o in outs if o.output_type == kind]
    assert found, f"no {kind} among {[o.output_type for o in outs]}"
    return found[-1].data


def test_a_summary_is_an_html_table(outputs):
    data = _data(outputs[1])
    assert data["text/html"].startswith("<table><caption>LeNet5 on input 1x28x28")


def test_show_and_an_explanation_are_pictures(outputs):
    for i in (2, 3):
        assert "image/png" in _data(outputs[i])


def test_an_attack_result_is_a_table_with_its_examples(outputs):
    html = _data(outputs[4])["text/html"]
    assert "<caption>fgsm on 4 images" in html and "data:image/png;base64," in html


def test_progress_is_a_notebook_widget(outputs):
    kinds = {o.output_type for o in outputs[5]}
    widgets = [
        o for o in outputs[5] if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, f"no progress widget; outputs: {kinds}"
    assert _data(outputs[5])["text/plain"] == "(4, 84)"
