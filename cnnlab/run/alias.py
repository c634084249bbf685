"""``torch`` and ``torchvision`` resolved to cnnlab inside this process: an import hook.

:func:`install` puts a finder first on ``sys.meta_path`` that answers ``import torch``,
``import torch.X.Y``, ``import torchvision`` and ``import torchvision.X`` with the modules
``cnnlab``, ``cnnlab.X.Y``, ``cnnlab.vision`` and ``cnnlab.vision.X`` themselves (the same
objects, so classes and isinstance checks are cnnlab's). A torch module cnnlab does not have
raises :class:`TorchFeatureMissing` naming it; the real torch is never imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["TorchFeatureMissing", "cnnlab_name", "install", "torch_name", "uninstall"]

# torch's top-level package -> the cnnlab package that stands for it
ROOTS = {"torch": "cnnlab", "torchvision": "cnnlab.vision"}


class TorchFeatureMissing(ModuleNotFoundError):
    """The script imported a torch module that cnnlab does not have."""

    def __init__(self, torch_path: str) -> None:
        super().__init__(f"cnnlab has no {torch_path}", name=torch_path)
        self.torch_path = torch_path


def cnnlab_name(fullname: str) -> str | None:
    """``torch.nn.functional`` -> ``cnnlab.nn.functional``; None for other modules."""
    root, _, rest = fullname.partition(".")
    if root not in ROOTS:
        return None
    return ROOTS[root] + ("." + rest if rest else "")


def torch_name(module_name: str) -> str:
    """The torch name of a cnnlab module: ``cnnlab.vision.x`` -> ``torchvision.x``,
    ``cnnlab.x`` -> ``torch.x``."""
    for torch_root, root in sorted(ROOTS.items(), key=lambda kv: -len(kv[1])):
        if module_name == root or module_name.startswith(root + "."):
            return torch_root + module_name[len(root) :]
    return module_name


class _TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        name = cnnlab_name(fullname)
        if name is None:
            return None
        try:
            found = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            found = None
        if found is None:
            raise TorchFeatureMissing(fullname)
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        module = importlib.import_module(cnnlab_name(spec.name))  # the cnnlab module itself
        _own_specs[id(module)] = module.__spec__
        return module

    def exec_module(self, module) -> None:
        # already executed when cnnlab imported it; the import system has just set its
        # __spec__ to the alias's (name "torch", no origin): give it its own back, or
        # importlib.util.find_spec("cnnlab") answers for torch (Flask's app setup reads it)
        module.__spec__ = _own_specs.pop(id(module), module.__spec__)


_own_specs: dict = {}  # id(cnnlab module) -> its own __spec__, while an alias is created
_FINDER = _TorchFinder()
_saved: dict = {}  # real torch modules set aside by install(), put back by uninstall()


def install() -> None:
    """Resolve ``torch``/``torchvision`` imports to cnnlab from now on, in this process. A real
    torch imported earlier is set aside (not used, not re-imported) until :func:`uninstall`."""
    for name in [n for n in sys.modules if cnnlab_name(n) is not None]:
        _saved.setdefault(name, sys.modules.pop(name))
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Undo :func:`install`: drop the aliases and put back what it set aside."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if cnnlab_name(n) is not None]:
        del sys.modules[name]
    sys.modules.update(_saved)
    _saved.clear()
