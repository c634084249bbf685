"""Argument-parsing helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math

__all__ = [
    "fraction",
    "intermixed",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
]

# argparse's ``type`` functions: a bad value raises ArgumentTypeError, which argparse reports
# as "argument --NAME: <message>" (one line, exit status 2), naming the option


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def positive_int(text: str) -> int:
    """An int of at least 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An int of at least 0 (a seed)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite float above 0 (``inf`` and ``nan`` refused: a learning rate of inf diverges
    at the first step)."""
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite float of at least 0."""
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A float in [0, 1)."""
    value = _float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def intermixed(parser) -> None:
    """Let IMAGE files follow options (``explain saliency --model NAME cat.png --out d``):
    argparse fills positionals in one go unless it parses intermixed arguments."""

    class Intermixed(type(parser)):
        _inside = False

        def parse_known_args(self, args=None, namespace=None):
            if self._inside:  # parse_known_intermixed_args calls back into this method
                return super().parse_known_args(args, namespace)
            self._inside = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._inside = False

    parser.__class__ = Intermixed
