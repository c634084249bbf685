"""The lecture notebooks (docs/lectures) are tests: each one runs top to bottom in a real kernel
(a cell that raises fails), and the committed copies carry fresh, error-free outputs.

Only the quickest notebook runs in the default suite; the other four take 15-70 s each on a
shared 2-core machine and are marked slow (``python3 -m pytest -m slow tests/notebooks``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
LECTURES = ROOT / "docs" / "lectures"
NOTEBOOKS = sorted(LECTURES.glob("*.ipynb"))
QUICK = {"01_convolution_basics.ipynb"}
MAX_BYTES = 1_500_000


def _runner():
    spec = importlib.util.spec_from_file_location(
        "run_notebooks", ROOT / "scripts" / "run_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_notebook_per_deck_in_the_decks_order():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_"]
    index = (LECTURES / "README.md").read_text()
    for p in NOTEBOOKS:
        assert p.name in index, f"docs/lectures/README.md does not list {p.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_are_fresh(path):
    """Saved executed, in order, without errors, with its figures, and small enough for the site."""
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: execution counts {counts}"
    for i, cell in enumerate(code):
        kinds = [o.output_type for o in cell.outputs]
        assert "error" not in kinds, f"{path.name}: code cell {i} saved with an error"
        streams = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not streams, f"{path.name}: code cell {i} wrote to stderr: {streams[0].text[:200]}"
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: no figure in the saved outputs"


def _params():
    for p in NOTEBOOKS:
        marks = () if p.name in QUICK else (pytest.mark.slow,)
        yield pytest.param(p, id=p.stem, marks=marks)


@pytest.mark.parametrize("path", list(_params()))
def test_notebook_runs_top_to_bottom(path):
    nb = _runner().execute(path)  # raises CellExecutionError on the first failing cell
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    saved = nbformat.read(path, as_version=4)
    assert len(saved.cells) == len(nb.cells)
