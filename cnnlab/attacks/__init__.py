"""Adversarial attacks and robustness measurement.

Every attack takes images ``(N, C, H, W)`` inside explicit ``bounds`` (default [0, 1]) and
keeps its result inside them; the model holds its own normalisation, so ε is measured on the
images the user gives. Models run in eval mode. Results are :class:`AttackResult` records
whose ``success`` is judged on the final perturbed input: a failed attack is never a success.
"""

from cnnlab.attacks.base import AttackResult, input_gradient, predict_proba
from cnnlab.attacks.deepfool import deepfool, deepfool_perturbation
from cnnlab.attacks.fgsm import fgsm, pgd, project
from cnnlab.attacks.fooling import FoolingResult, fooling_images
from cnnlab.attacks.minimal import minimal_perturbation
from cnnlab.attacks.one_pixel import one_pixel
from cnnlab.attacks.report import (
    markdown_table,
    plot_examples,
    plot_images,
    plot_robustness_curve,
    robustness_curve,
)
from cnnlab.attacks.universal import fooling_rate, universal, universal_perturbation
from cnnlab.models.loading import Normalized

__all__ = [
    "AttackResult",
    "FoolingResult",
    "Normalized",
    "deepfool",
    "deepfool_perturbation",
    "fgsm",
    "fooling_images",
    "fooling_rate",
    "input_gradient",
    "markdown_table",
    "minimal_perturbation",
    "one_pixel",
    "pgd",
    "plot_examples",
    "plot_images",
    "plot_robustness_curve",
    "predict_proba",
    "project",
    "robustness_curve",
    "universal",
    "universal_perturbation",
]
