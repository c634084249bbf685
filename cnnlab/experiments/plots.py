"""Figures the experiments share: curves of the ``eval`` rows against steps, per group of
sub-runs (the mean over seeds drawn, the seeds' range shaded)."""

from __future__ import annotations

import numpy as np

from cnnlab.experiments.runner import eval_rows

__all__ = ["group_curve", "plot_groups"]


def group_curve(records: dict, group: str, key: str, error: bool = False):
    """``(steps, mean, low, high)`` of column ``key`` of the eval rows over the seeds of
    ``group`` (as error = 1 - value with ``error``); runs cut short (diverged) are padded
    with NaN."""
    curves = []
    for rec in records.values():
        if rec["group"] != group:
            continue
        rows = eval_rows(rec)
        curves.append({int(r["step"]): r[key] for r in rows if r.get(key) is not None})
    steps = sorted({s for c in curves for s in c})
    table = np.array([[c.get(s, np.nan) for s in steps] for c in curves], dtype=np.float64)
    if error:
        table = 1.0 - table
    if not len(steps):
        return np.array([]), np.array([]), np.array([]), np.array([])
    with np.errstate(all="ignore"), _quiet():
        return (
            np.array(steps),
            np.nanmean(table, axis=0),
            np.nanmin(table, axis=0),
            np.nanmax(table, axis=0),
        )


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def plot_groups(
    ax,
    records: dict,
    groups: list,
    key: str,
    error: bool = False,
    style="-",
    label_suffix: str = "",
    colors: dict | None = None,
    labels: dict | None = None,
) -> None:
    """Draw ``group_curve`` for each group on ``ax`` (legend names from ``labels``)."""
    for i, g in enumerate(groups):
        steps, mean, lo, hi = group_curve(records, g, key, error)
        if not len(steps):
            continue
        color = (colors or {}).get(g, f"C{i}")
        ax.plot(steps, mean, style, color=color, label=f"{(labels or {}).get(g, g)}{label_suffix}")
        if np.any(hi > lo):
            ax.fill_between(steps, lo, hi, color=color, alpha=0.15, linewidth=0)
