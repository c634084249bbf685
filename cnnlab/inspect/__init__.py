"""Looking at architectures: summaries (shapes, parameters, multiply-adds, memory) and
receptive fields, analytic and measured."""

from cnnlab.inspect.receptive_field import (
    RF,
    analytic_fields,
    analytic_receptive_field,
    empirical_receptive_field,
    receptive_field,
)
from cnnlab.inspect.summary import LayerRow, Summary, summary

__all__ = [
    "RF",
    "LayerRow",
    "Summary",
    "analytic_fields",
    "analytic_receptive_field",
    "empirical_receptive_field",
    "receptive_field",
    "summary",
]
