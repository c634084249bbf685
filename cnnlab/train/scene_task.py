"""What the scene tasks (``cnnlab train --task segment``, ``detect``, ``caption``) share
around their own training: the run's settings (a resumed run's, or the recipe's under the
user's options, checked alike) and the summary every run ends with.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from cnnlab.train import recipes

__all__ = ["finish_summary", "scene_config"]


def scene_config(task: str, defaults: dict, settings: dict, resume, unsupported=()):
    """``(cfg, run dir)``: a resumed run's saved settings (only ``workers`` may change) and
    its folder, or ``(recipes.DEFAULTS | defaults | settings, None)`` for a new run, whose
    data must be a scene set and which may set none of the ``unsupported`` options."""
    from cnnlab.train.checkpoint import load_checkpoint

    if resume is not None:
        ckpt = load_checkpoint(resume)
        cfg = dict(ckpt.config)
        cfg.update({k: settings[k] for k in ("workers",) if k in settings})
        return cfg, Path(ckpt.path).parent
    cfg = {**recipes.DEFAULTS, **defaults, **settings, "task": task}
    if cfg["data"] not in recipes.SCENE_NAMES:
        names = ", ".join(recipes.SCENE_NAMES)
        raise ValueError(f"--task {task}: --data must be one of {names}, got {cfg['data']!r}")
    for key in unsupported:
        if cfg.get(key):
            raise ValueError(
                f"--task {task}: --{key.replace('_', '-')} is not supported (got {cfg[key]!r})"
            )
    return cfg, None


def finish_summary(summary: dict, history: list, start: float, out_dir: Path) -> dict:
    """``summary`` with what every run reports (the last epoch's loss, the training time of
    this call and of the whole run, the folder and the last checkpoint), written to
    ``out_dir/summary.json``; returns it."""
    summary = {
        **summary,
        "train_loss": history[-1]["loss"] if history else None,
        "train_time_s": round(time.perf_counter() - start, 1),
        "total_train_time_s": round(sum(r.get("time_s", 0.0) for r in history), 1),
        "out_dir": str(out_dir),
        "checkpoint": str(out_dir / "last.safetensors"),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
