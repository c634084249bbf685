"""The models a server offers: checkpoints found in the runs folder (each run's
``best.safetensors`` and ``last.safetensors``, labelled from its ``summary.json``), the one
given on the command line, and the zoo's models. Each carries its ``task`` (classify,
segment, ...): models of a task the lab has no view for (:mod:`cnnlab.serve.scene`) are left
out. The page asks for a model by its ``id`` only, so no path from a client ever reaches the
file system."""

from __future__ import annotations

import json
from pathlib import Path

from cnnlab.serve.scene import tasks

__all__ = ["Choice", "list_choices"]

_PRETRAINED = ("efficientnet_lite0",)  # zoo models with published weights (cnnlab.io)


class Choice:
    """One model on offer: ``id`` (what clients send), ``label``, and how to load it."""

    def __init__(
        self,
        id: str,
        label: str,
        checkpoint=None,
        name=None,
        pretrained=False,
        script=None,
        task="classify",
    ):
        self.id, self.label, self.task = id, label, task
        self.checkpoint, self.name, self.pretrained = checkpoint, name, pretrained
        self.script = script  # a bare state_dict's model class is defined in this script

    def public(self) -> dict:
        kind = "checkpoint" if self.checkpoint is not None else "zoo"
        return {"id": self.id, "label": self.label, "kind": kind, "task": self.task}


def _run_label(run: Path, file: Path, runs: Path) -> str:
    label = f"{run.relative_to(runs)}/{file.name}"
    try:
        s = json.loads((run / "summary.json").read_text())
    except (OSError, ValueError):
        return label
    acc = s.get("test_acc")
    acc = f", test acc {acc:.2%}" if isinstance(acc, (int, float)) else ""
    miou = s.get("test_miou")
    acc += f", test mIoU {miou:.3f}" if isinstance(miou, (int, float)) else ""
    return f"{label} ({s.get('model', '?')} on {s.get('data', '?')}{acc})"


def _task(run: Path) -> str:
    try:
        task = json.loads((run / "summary.json").read_text()).get("task", "classify")
    except (OSError, ValueError, AttributeError):
        return "classify"
    return task if isinstance(task, str) else "?"


def _runs(runs: Path, depth: int = 3) -> list[Choice]:
    out = []
    if not runs.is_dir():
        return out
    files = sorted(
        p for p in runs.rglob("*.safetensors") if len(p.relative_to(runs).parts) <= depth
    )
    shown = tasks()
    for f in files:
        task = _task(f.parent)
        if task not in shown:
            continue  # a task the lab has no view for
        rel = f.relative_to(runs).as_posix()
        label = _run_label(f.parent, f, runs)
        out.append(Choice(f"run:{rel}", label, checkpoint=f, task=task))
    return out


def _zoo_task(name: str) -> str:
    from cnnlab import models

    try:
        return models.info(name)["task"]
    except (KeyError, ValueError):
        return "classify"  # an unknown name: opening it gives the error


def _zoo(pretrained_only: bool = False) -> list[Choice]:
    from cnnlab import models

    out = []
    for name in _PRETRAINED:
        out.append(
            Choice(f"zoo:{name}:pretrained", f"{name} (pretrained)", name=name, pretrained=True)
        )
    for name in models.names():
        info = models.info(name)
        if info["num_classes"] is None or len(info["input_shape"]) != 3:
            continue  # not a classifier (the DCGAN parts)
        if info["task"] not in tasks():
            continue  # a task the lab has no view for
        if not pretrained_only:
            label = f"{name} (untrained)"
            out.append(Choice(f"zoo:{name}", label, name=name, task=info["task"]))
    return out


def list_choices(
    runs=None, checkpoint=None, model=None, pretrained=False, allow_zoo=False, script=None
) -> tuple[list, str]:
    """``(choices, default id)``: the command line's model first, then the runs, then (with
    ``allow_zoo``) the zoo. Without a model or a checkpoint in the runs, the default is the
    zoo's ``fashion_cnn`` and it is the only zoo model offered."""
    choices: list[Choice] = []
    default = None
    if checkpoint is not None:
        path = Path(checkpoint)
        if path.is_dir():
            path = next(
                (path / n for n in ("best.safetensors", "last.safetensors") if (path / n).exists()),
                path,
            )
        label, task = f"{path} (command line)", _task(path.parent)
        choices.append(Choice("cli:checkpoint", label, checkpoint=path, script=script, task=task))
        default = "cli:checkpoint"
    runs_choices = _runs(Path(runs)) if runs is not None else []
    choices += runs_choices
    zoo = _zoo() if allow_zoo else []
    choices += zoo
    if model is not None:
        default = f"zoo:{model}:pretrained" if pretrained else f"zoo:{model}"
        if not any(c.id == default for c in choices):
            choices.insert(
                0,
                Choice(
                    default,
                    f"{model}{' (pretrained)' if pretrained else ''}",
                    name=model,
                    pretrained=pretrained,
                    task=_zoo_task(model),
                ),
            )
    if default is None:
        default = runs_choices[0].id if runs_choices else "zoo:fashion_cnn"
    if not any(c.id == default for c in choices):
        choices.append(Choice(default, "fashion_cnn (untrained)", name="fashion_cnn"))
    return choices, default
