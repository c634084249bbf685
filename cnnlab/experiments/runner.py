"""The shared runner: an experiment's folder, its sub-runs (ordinary training run
directories), resume, one progress bar over the whole experiment, then the report.

Layout of ``out``::

    experiment.json        name, budget, data, seeds: what this folder holds
    <sub-run>/             a `cnnlab train` run directory (metrics.csv, curves.png,
                           last.safetensors, summary.json) plus subrun.json once finished
    report.md, results.json, *.png

A sub-run is finished when its ``subrun.json`` exists; rerunning into the same folder skips
those and starts any unfinished one afresh, so a killed experiment loses at most the
sub-run it was in.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from cnnlab.experiments.probes import read_csv
from cnnlab.experiments.registry import BUDGETS, ExperimentError, get
from cnnlab.train import recipes
from cnnlab.train.trainer import TrainingDiverged

__all__ = ["Context", "SubRun", "base_settings", "eval_rows", "run"]


@dataclass
class SubRun:
    """One training run of an experiment.

    ``settings`` go to ``cnnlab.train.run.train``; ``build_model(cfg, info)`` builds a
    variant (None: the registry's ``settings['model']``); ``callbacks()`` returns fresh
    Trainer callbacks; ``after(model, run_dir)`` measures the trained model (a dict kept in
    ``subrun.json`` as ``extra``). ``work(run_dir)``, if given, replaces training: it does
    the sub-run's job (extract features, fit a probe ...) and returns its summary dict
    (``test_acc`` ...); ``settings['steps']`` is then its share of the progress bar.
    """

    name: str
    group: str
    seed: int
    settings: dict
    build_model: Callable | None = None
    callbacks: Callable | None = None
    after: Callable | None = None
    work: Callable | None = None


@dataclass
class Context:
    """What an experiment's ``plan`` and ``analyse`` see."""

    name: str
    budget: str
    knobs: dict
    data: str
    seeds: list
    out: Path
    root: object = None
    shape: tuple = ()
    n_train: int = 0
    n_test: int = 0
    num_classes: int = 10
    extra: dict = field(default_factory=dict)


def base_settings(ctx: Context, seed: int, **settings) -> dict:
    """Settings for ``train`` with the recipe's extras (label smoothing, weight decay,
    warm-up) off unless an experiment sets them."""
    base = {
        "data": ctx.data,
        "seed": int(seed),
        "label_smoothing": 0.0,
        "weight_decay": 0.0,
        "warmup_epochs": 0.0,
        "augment": False,
        "val_split": 0.0,
    }
    return {**base, **settings}


def eval_rows(record: dict) -> list[dict]:
    """The ``kind = eval`` rows (see ``probes.EvalEvery``) of a finished sub-run."""
    path = Path(record["dir"]) / "metrics.csv"
    return [r for r in read_csv(path) if r["kind"] == "eval"] if path.exists() else []


def _planned_steps(sub: SubRun, n_train: int) -> int:
    s = sub.settings
    if sub.work is not None:
        return int(s.get("steps", 1))
    n = min(int(s["limit"]), n_train) if s.get("limit") else n_train
    return int(s["epochs"]) * math.ceil(n / int(s["batch_size"]))


def _default_out(name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / "experiments" / f"{name}-{stamp}"


def _latest_out(name: str) -> Path:
    found = sorted((Path("runs") / "experiments").glob(f"{name}-*"))
    if not found:
        raise ExperimentError(f"--resume: no runs/experiments/{name}-* folder; pass --out")
    return found[-1]


def _claim_folder(out: Path, header: dict) -> None:
    marker = out / "experiment.json"
    header = json.loads(json.dumps(header))  # as it is held on disk (tuples become lists)
    if marker.exists():
        held = json.loads(marker.read_text())
        for key in ("experiment", "budget", "data", "seeds", "knobs"):
            if held.get(key) != header.get(key):
                raise ExperimentError(
                    f"--out {out} holds experiment {held.get('experiment')!r} (budget "
                    f"{held.get('budget')}, data {held.get('data')}, seeds {held.get('seeds')}), "
                    f"not {header['experiment']!r} (budget {header['budget']}, data "
                    f"{header['data']}, seeds {header['seeds']}); choose another --out"
                )
        return
    if out.exists() and any(out.iterdir()):
        raise ExperimentError(f"--out {out} is not empty and holds no experiment; choose another")
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(header, indent=2) + "\n")


def _lock(out: Path) -> Path:
    """``out/running.lock`` with this process's id; refuses a folder another live process
    is running (two runners would delete each other's unfinished sub-runs)."""
    lock = out / "running.lock"
    if lock.exists():
        try:
            pid = int(lock.read_text().strip() or 0)
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            pid = 0
        if pid and pid != os.getpid():
            raise ExperimentError(f"--out {out} is being run by process {pid}; wait for it")
    lock.write_text(f"{os.getpid()}\n")
    return lock


class _Tick:
    """Advances the experiment's progress bar one optimiser step at a time."""

    def __init__(self, bar, label: str) -> None:
        self.bar, self.label, self.steps = bar, label, 0

    def on_step(self, trainer, batch: dict) -> None:
        self.steps += 1
        self.bar.update(1)
        if self.steps % 10 == 1:
            self.bar.set_postfix_str(f"{self.label} loss {batch['loss']:.3f}")


def _run_one(sub: SubRun, run_dir: Path, bar, root) -> dict:
    from cnnlab.train.run import train

    if sub.work is not None:
        start = time.perf_counter()
        run_dir.mkdir(parents=True, exist_ok=True)
        record = {"name": sub.name, "group": sub.group, "seed": sub.seed}
        record.update(settings=sub.settings, summary=sub.work(run_dir), diverged=None, extra={})
        record["wall_s"] = round(time.perf_counter() - start, 1)
        bar.update(int(sub.settings.get("steps", 1)))
        return record
    held = {}

    def build(cfg, info):
        held["model"] = (sub.build_model or recipes.build_model)(cfg, info)
        return held["model"]

    tick = _Tick(bar, sub.name)
    callbacks = [*(sub.callbacks() if sub.callbacks else []), tick]
    start = time.perf_counter()
    record = {"name": sub.name, "group": sub.group, "seed": sub.seed, "settings": sub.settings}
    try:
        record["summary"] = train(
            sub.settings,
            out_dir=run_dir,
            progress=False,
            root=root,
            build_model=build,
            callbacks=callbacks,
        )
        record["diverged"] = None
    except TrainingDiverged as e:
        record["summary"], record["diverged"] = None, {"step": tick.steps, "error": str(e)}
    record["extra"] = sub.after(held["model"], run_dir) if sub.after and "model" in held else {}
    record["wall_s"] = round(time.perf_counter() - start, 1)
    return record


def run(
    name: str,
    budget: str = "standard",
    data: str = "fashion-mnist",
    seeds: int | None = None,
    out=None,
    resume: bool = False,
    progress: bool = True,
    root=None,
    knobs: dict | None = None,
) -> dict:
    """Run experiment ``name`` (see ``cnnlab experiment list``) and write its report.

    Trains every sub-run not yet finished in ``out`` (default: a new
    ``runs/experiments/<name>-<timestamp>``; with ``resume`` and no ``out``, the latest one),
    then writes ``report.md``, ``results.json`` and the figures there. Returns the results
    dict (claim, set-up, table, verdict, numbers, sub-runs). ``knobs`` override entries of
    the budget's settings (images, epochs, ...; the tests use tiny ones); unknown keys fail.
    """
    from cnnlab.experiments import report

    exp = get(name)
    if budget not in BUDGETS:
        raise ExperimentError(f"unknown budget {budget!r}: expected one of {', '.join(BUDGETS)}")
    n_seeds = int(seeds) if seeds is not None else int(exp.seeds[budget])
    if n_seeds < 1:
        raise ExperimentError(f"--seeds must be at least 1, got {n_seeds}")
    out = Path(out) if out is not None else (_latest_out(name) if resume else _default_out(name))
    train_ds, test_ds = recipes.load_datasets(data, root)
    shape = recipes.sample_shape(train_ds)
    if exp.check_data is not None:
        why = exp.check_data(data, shape, len(train_ds))
        if why:
            raise ExperimentError(f"experiment {name!r} cannot use data {data!r}: {why}")
    settings = dict(exp.budgets[budget])
    unknown = sorted(set(knobs or {}) - set(settings))
    if unknown:
        raise ExperimentError(
            f"experiment {name!r} has no setting {unknown}; its settings: {', '.join(settings)}"
        )
    settings.update(knobs or {})
    header = {"experiment": name, "budget": budget, "data": str(data), "seeds": n_seeds}
    if knobs:
        header["knobs"] = dict(knobs)
    _claim_folder(out, header)
    ctx = Context(
        name=name,
        budget=budget,
        knobs=settings,
        data=str(data),
        seeds=list(range(n_seeds)),
        out=out,
        root=root,
        shape=tuple(shape),
        n_train=len(train_ds),
        n_test=len(test_ds),
        num_classes=len(getattr(train_ds, "classes", None) or []) or int(max(train_ds.targets)) + 1,
    )
    subs = exp.plan(ctx)
    steps = {s.name: _planned_steps(s, ctx.n_train) for s in subs}
    bar = tqdm(
        total=sum(steps.values()),
        desc=f"{name} ({budget})",
        disable=not progress,
        dynamic_ncols=True,
        file=sys.stderr,
        unit="step",
    )
    records = {}
    lock = _lock(out)
    try:
        for sub in subs:
            run_dir = out / sub.name
            marker = run_dir / "subrun.json"
            if marker.exists():
                records[sub.name] = json.loads(marker.read_text())
                bar.update(steps[sub.name])
                continue
            if run_dir.exists():  # killed part-way: start this one afresh
                shutil.rmtree(run_dir)
            done = bar.n
            record = _run_one(sub, run_dir, bar, root)
            bar.update(max(0, done + steps[sub.name] - bar.n))  # a diverged run ends early
            marker.write_text(json.dumps(record, indent=2, default=float) + "\n")
            records[sub.name] = record
    finally:
        bar.close()
        lock.unlink(missing_ok=True)
    for rec in records.values():
        rec["dir"] = str(out / rec["name"])
    start = time.perf_counter()
    results = exp.analyse(ctx, records)
    results.update(
        experiment=name,
        title=exp.title,
        claim=exp.claim,
        source=exp.source,
        budget=budget,
        data=str(data),
        seeds=n_seeds,
        out=str(out),
        wall_time_s=round(sum(r["wall_s"] for r in records.values()), 1),
        analysis_time_s=round(time.perf_counter() - start, 1),
        command=f"cnnlab experiment {name} --budget {budget} --data {data} "
        f"--seeds {n_seeds} --out {out}" + (f"  (settings changed: {knobs})" if knobs else ""),
        settings=settings,
    )
    results.setdefault("runs", {})
    for rec in records.values():
        s = rec.get("summary") or {}
        results["runs"].setdefault(rec["name"], {})
        results["runs"][rec["name"]].update(
            group=rec["group"],
            seed=rec["seed"],
            dir=rec["name"],
            test_acc=s.get("test_acc"),
            epochs=s.get("epochs"),
            wall_s=rec["wall_s"],
            diverged=rec["diverged"] is not None,
        )
    report.write(results, out)
    return results
