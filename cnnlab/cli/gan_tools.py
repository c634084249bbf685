"""``cnnlab gan sample|interpolate|neighbours|evaluate`` (parsing only)."""

from __future__ import annotations


def add_parsers(sub, parents) -> None:
    pass
