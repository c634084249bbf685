"""The experiments' reports: ``report.md``, ``results.json`` and the figures, plus the
helpers every experiment uses to turn numbers into a verdict.

A verdict comes from criteria, each ``{'text', 'status'}`` with status ``'holds'``,
``'fails'`` or ``'unclear'``: "reproduced" when all hold, "not reproduced" when any fails,
"inconclusive" otherwise. Comparisons count as clear only when every seed agrees (the
smallest value of one side against the largest of the other) by at least a margin.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = [
    "compare",
    "criterion",
    "figure",
    "fmt",
    "save",
    "spread",
    "verdict",
    "write",
]

QUICK_NOTE = (
    "This is the quick budget (about a minute or two on 2 CPU cores, for tests and a first "
    "look): the networks are far from trained, so the verdict may not hold here; run "
    "`--budget standard` or `full` for a fair test."
)


def figure(width: float = 6.4, height: float = 4.0):
    """A matplotlib Figure on the Agg canvas (no pyplot state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=90)
    FigureCanvasAgg(fig)
    return fig


def save(fig, path) -> str:
    """Save ``fig`` as PNG at ``path``; returns the file name (relative to its folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    return path.name


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def spread(values) -> dict:
    """``{'mean', 'min', 'max', 'std', 'n', 'values'}`` of the seeds' values (NaN-free)."""
    vals = _finite(values)
    if not vals:
        return {"mean": None, "min": None, "max": None, "std": None, "n": 0, "values": []}
    a = np.asarray(vals)
    return {
        "mean": float(a.mean()),
        "min": float(a.min()),
        "max": float(a.max()),
        "std": float(a.std()),
        "n": len(vals),
        "values": vals,
    }


def fmt(values, digits: int = 3, percent: bool = False, sci: bool = False) -> str:
    """Mean, and the seeds' range when there is more than one: ``0.912 (0.905-0.919)``
    (``sci``: ``1.2e-09 (...)``)."""
    s = spread(values if isinstance(values, (list, tuple)) else [values])
    if not s["n"]:
        return "n/a"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    d = max(0, digits - 2) if percent else digits

    def num(v):
        return f"{v:.{max(1, digits - 1)}e}" if sci else f"{v * scale:.{d}f}{unit}"

    if s["n"] == 1:
        return num(s["mean"])
    return f"{num(s['mean'])} ({num(s['min'])}-{num(s['max'])})"


def compare(a, b, margin: float = 0.0) -> str:
    """``'holds'`` if every value of ``a`` exceeds every value of ``b`` by more than
    ``margin``, ``'fails'`` if every ``b`` exceeds every ``a`` by more than ``margin``,
    else ``'unclear'``."""
    a, b = _finite(a), _finite(b)
    if not a or not b:
        return "unclear"
    if min(a) - max(b) > margin:
        return "holds"
    if min(b) - max(a) > margin:
        return "fails"
    return "unclear"


def criterion(text: str, status: str) -> dict:
    if status not in ("holds", "fails", "unclear"):
        raise ValueError(f"criterion: status must be holds, fails or unclear, got {status!r}")
    return {"text": text, "status": status}


def verdict(criteria: list[dict]) -> str:
    """ "reproduced", "not reproduced" or "inconclusive" from the criteria's statuses."""
    statuses = [c["status"] for c in criteria]
    if statuses and all(s == "holds" for s in statuses):
        return "reproduced"
    if "fails" in statuses:
        return "not reproduced"
    return "inconclusive"


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def _markdown(results: dict) -> str:
    r = results
    minutes = r["wall_time_s"] / 60
    lines = [
        f"# {r['title']}",
        "",
        f"> {r['claim']}",
        "",
        f"Source: {r['source']}",
        "",
        f"Budget **{r['budget']}** · data `{r['data']}` · {r['seeds']} seed(s) · "
        f"training wall time {minutes:.1f} min (sum of the sub-runs)",
        "",
        f"Command: `{r.get('command', '')}`",
        "",
    ]
    if r["budget"] == "quick":
        lines += [f"*{QUICK_NOTE}*", ""]
    lines += ["## Set-up", ""] + [f"- {s}" for s in r.get("setup", [])] + [""]
    table = r.get("table")
    if table:
        lines += ["## Results", ""]
        lines.append("| " + " | ".join(table["columns"]) + " |")
        lines.append("|" + "---|" * len(table["columns"]))
        for row in table["rows"]:
            lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
        lines.append("")
    for fig in r.get("figures", []):
        lines += [f"![{fig['caption']}]({fig['file']})", "", f"*{fig['caption']}*", ""]
    lines += [f"## Verdict: **{r['verdict']}**", ""]
    for c in r.get("criteria", []):
        lines.append(f"- {c['status']}: {c['text']}")
    lines.append("")
    if r.get("spread_note"):
        lines += [r["spread_note"], ""]
    for note in r.get("notes", []):
        lines += [note, ""]
    lines += [
        "## Sub-runs",
        "",
        "| run | seed | test acc | wall s | diverged |",
        "|---|---|---|---|---|",
    ]
    for name, run in r.get("runs", {}).items():
        lines.append(
            f"| `{name}/` | {run.get('seed')} | {_cell(run.get('test_acc'))} | "
            f"{_cell(run.get('wall_s'))} | {'yes' if run.get('diverged') else 'no'} |"
        )
    lines.append("")
    return "\n".join(lines)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else str(v)  # JSON has no inf/nan
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write(results: dict, out) -> Path:
    """Write ``results.json`` and ``report.md`` into ``out``; returns the report's path."""
    out = Path(out)
    results["verdict"] = verdict(results.get("criteria", []))
    (out / "results.json").write_text(json.dumps(_jsonable(results), indent=2) + "\n")
    path = out / "report.md"
    path.write_text(_markdown(results))
    return path
