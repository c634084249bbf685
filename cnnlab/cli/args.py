"""Argument-parsing helpers shared by the subcommands."""

from __future__ import annotations

import argparse

__all__ = ["intermixed", "positive_int"]


def positive_int(text: str) -> int:
    """An argparse ``type``: an int of at least 1 (else argparse's error names the option)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
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
