"""The experiments' registry: each experiment module registers one :class:`Experiment`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["BUDGETS", "Experiment", "ExperimentError", "get", "names", "register"]

BUDGETS = ("quick", "standard", "full")

# the modules whose import registers an experiment, in the order `experiment list` shows
MODULES = ("depth", "ablation", "batchnorm", "init", "activation", "pooling", "dropout")
MODULES += ("transfer",)


class ExperimentError(ValueError):
    """A bad experiment request: unknown name, unusable data, an ``--out`` holding another
    experiment."""


@dataclass
class Experiment:
    """One lecture claim and how to test it.

    ``budgets[b]`` holds the knobs ``plan`` reads (epochs, images, ...); ``plan(ctx)``
    returns the sub-runs; ``analyse(ctx, records)`` turns the finished sub-runs into the
    results dict the report is written from; ``check_data(data, shape, n_train)`` returns
    why a data set cannot be used (None if it can).
    """

    name: str
    title: str
    claim: str
    source: str
    budgets: dict
    seeds: dict
    plan: Callable
    analyse: Callable
    check_data: Callable | None = None
    notes: list = field(default_factory=list)


_REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add ``experiment`` under its name (once)."""
    if experiment.name in _REGISTRY:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    missing = [b for b in BUDGETS if b not in experiment.budgets]
    if missing:
        raise ValueError(f"experiment {experiment.name!r} has no budget {missing}")
    _REGISTRY[experiment.name] = experiment
    return experiment


def _load() -> None:
    import importlib

    for module in MODULES:
        importlib.import_module(f"cnnlab.experiments.{module}")


def names() -> list[str]:
    """The experiments' names, in the lectures' order."""
    _load()
    return [m for m in MODULES if m in _REGISTRY]


def get(name: str) -> Experiment:
    """The experiment called ``name``; unknown names raise :class:`ExperimentError`."""
    _load()
    if name not in _REGISTRY:
        raise ExperimentError(f"unknown experiment {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]
