"""The model registry: ``@register(name)`` on a factory, ``create(name)`` to build one.

A factory is ``fn(num_classes=..., in_channels=..., **options) -> nn.Module``. Registering it
records the input shape and class count it expects by default, so tools (the CLI, the zoo
tests, summaries) can build any model and feed it a correctly shaped input.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

__all__ = ["create", "info", "names", "register"]

_REGISTRY: dict[str, dict] = {}


def register(
    name: str,
    *,
    input_shape: tuple | None = None,
    num_classes: int | None = 10,
    task: str = "classify",
):
    """Decorator: register ``factory`` under ``name``.

    Args:
        name: the name ``create`` and ``cnnlab train --model`` use.
        input_shape: the (C, H, W) input the factory's defaults expect.
        num_classes: the factory's default number of classes (None: not a classifier).
        task: what its output is: ``'classify'`` (N, classes), ``'segment'`` (N, classes,
            H, W) or ``'detect'`` (N, classes + 4, H / 4, W / 4: CenterNet's maps); tools that
            only classify (the browser lab) skip the others.
    """

    def decorator(factory: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"register: model {name!r} is already registered")
        _REGISTRY[name] = {
            "name": name,
            "factory": factory,
            "input_shape": tuple(input_shape) if input_shape is not None else None,
            "num_classes": num_classes,
            "task": task,
            "doc": (inspect.getdoc(factory) or "").split("\n")[0],
        }
        return factory

    return decorator


def names() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def _entry(name: str) -> dict:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(names())}")
    return _REGISTRY[name]


def info(name: str) -> dict:
    """``{'name', 'input_shape', 'num_classes', 'task', 'doc'}`` of a registered model."""
    return {k: v for k, v in _entry(name).items() if k != "factory"}


def accepts(name: str, option: str) -> bool:
    """Whether the factory of ``name`` names keyword ``option`` in its signature (a factory's
    ``**options`` go on to its class, which may not take it: the CIFAR ResNets, VGG)."""
    return option in inspect.signature(_entry(name)["factory"]).parameters


def create(
    name: str,
    num_classes: int | None = None,
    in_channels: int | None = None,
    pretrained: bool = False,
    **options,
):
    """Build the model registered as ``name``.

    ``num_classes`` and ``in_channels`` default to the factory's own defaults (see
    :func:`info`); ``options`` go to the factory. Unknown names raise ``ValueError`` listing
    the known ones; ``pretrained=True`` on a model without published weights raises too.
    """
    entry = _entry(name)
    factory = entry["factory"]
    params = inspect.signature(factory).parameters
    kwargs = dict(options)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    if in_channels is not None:
        kwargs["in_channels"] = in_channels
    if pretrained:
        if "pretrained" not in params:
            raise ValueError(f"model {name!r} has no pretrained weights")
        kwargs["pretrained"] = True
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as e:
        raise ValueError(f"model {name!r}: bad options {sorted(options)}: {e}") from None
    return factory(**kwargs)
