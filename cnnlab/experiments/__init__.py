"""The lectures' experiments: one call trains what a claim needs and reports whether it
reproduces (``cnnlab experiment list``; ``cnnlab.experiments.run('init', budget='quick')``).
"""

from cnnlab.experiments.registry import ExperimentError, get, names
from cnnlab.experiments.runner import run

__all__ = ["ExperimentError", "get", "names", "run"]
