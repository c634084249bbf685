"""``torchvision.models``-shaped constructors over cnnlab's zoo: ``resnet18(weights=None,
num_classes=10)`` and so on. cnnlab has none of torchvision's pretrained weights, so a
``weights`` other than None is refused (``efficientnet_lite0`` has its own ``pretrained``)."""

from __future__ import annotations

import functools

from cnnlab import models as zoo

__all__ = ["get_model", "list_models"]

# torchvision's names that the zoo also has (same architecture; state_dicts load key for key)
_TORCHVISION_NAMES = (
    "alexnet",
    "resnet18",
    "resnet34",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
)


def get_model(name: str, *, weights=None, progress: bool = True, **config):
    """The zoo's model ``name`` built with ``config`` (``num_classes``, ``in_channels`` ...)."""
    if weights is not None:
        raise ValueError(
            f"cnnlab.vision.models.{name}: weights={weights!r}: cnnlab has none of "
            "torchvision's pretrained weights; use weights=None (or the zoo's "
            "efficientnet_lite0(pretrained=True))"
        )
    return zoo.create(name, **config)


def list_models() -> list[str]:
    """Every model name cnnlab's zoo registers."""
    return zoo.names()


def _constructor(name: str):
    @functools.wraps(get_model)
    def build(*, weights=None, progress: bool = True, **config):
        return get_model(name, weights=weights, progress=progress, **config)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"torchvision's ``{name}`` from cnnlab's zoo (``weights`` must be None)."
    return build


for _name in _TORCHVISION_NAMES:
    globals()[_name] = _constructor(_name)
__all__ += list(_TORCHVISION_NAMES)


def __getattr__(name: str):
    """Any other zoo name (``resnet20``, ``lenet5``, ...) as a constructor too."""
    if name in zoo.names():
        return _constructor(name)
    raise AttributeError(
        f"module 'cnnlab.vision.models' has no attribute {name!r}; the zoo has: "
        f"{', '.join(zoo.names())}"
    )
