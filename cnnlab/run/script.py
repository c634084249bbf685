"""Run an unmodified PyTorch script on cnnlab: ``run_script(path, args)``.

The script runs as ``__main__`` (``sys.argv`` = ``[path, *args]``, its folder first on
``sys.path``) with ``torch``/``torchvision`` resolved to cnnlab (:mod:`cnnlab.run.alias`).
Where it reaches something cnnlab lacks (a module, a function, a Tensor method, a keyword
argument), one line is printed, ``cnnlab has no torch.X (script.py:LINE)``, and the exit
status is 1; other errors print their traceback, as Python would.
"""

from __future__ import annotations

import ast
import importlib
import re
import runpy
import sys
import traceback
from pathlib import Path

from cnnlab.run import alias

__all__ = ["missing_feature", "run_script"]

_MODULE_ATTR = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
_OBJECT_ATTR = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
_IMPORT_NAME = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
_KEYWORD = re.compile(r"([\w.]+)\(\) got an unexpected keyword argument '(\w+)'")
_TENSOR_CLASSES = {"Tensor": "torch.Tensor", "Parameter": "torch.nn.Parameter"}
_NAMESPACES = (  # where a function named in a TypeError is looked up, in this order
    "cnnlab",
    "cnnlab.nn",
    "cnnlab.nn.functional",
    "cnnlab.optim",
    "cnnlab.optim.lr_scheduler",
    "cnnlab.utils.data",
    "cnnlab.vision.datasets",
    "cnnlab.vision.transforms",
)


def _defined_in_script(name: str, script: Path) -> bool:
    try:
        tree = ast.parse(script.read_text())
    except (OSError, SyntaxError, ValueError):
        return False
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(isinstance(n, kinds) and n.name == name for n in ast.walk(tree))


def _keyword_owner(qualname: str, script: Path) -> str | None:
    """``torch.zeros`` for ``zeros`` (``Linear.__init__`` -> ``torch.nn.Linear``) if one of
    cnnlab's namespaces has it and the script does not define it itself."""
    head = qualname.split(".")[0]
    if _defined_in_script(head, script):
        return None
    if head in _TENSOR_CLASSES:
        method = qualname.split(".")[1] if "." in qualname else ""
        return f"{_TENSOR_CLASSES[head]}.{method}".rstrip(".")
    for module in _NAMESPACES:
        mod = importlib.import_module(module)
        if head in vars(mod) or head in getattr(mod, "__all__", ()):
            return f"{alias.torch_name(module)}.{head}"
    return None


def missing_feature(exc: BaseException, script: Path | None = None) -> str | None:
    """``torch.X`` if ``exc`` says the script reached something cnnlab lacks, else None."""
    text = str(exc)
    if isinstance(exc, alias.TorchFeatureMissing):
        return exc.torch_path
    if isinstance(exc, ImportError) and (m := _IMPORT_NAME.search(text)):
        if alias.cnnlab_name(alias.torch_name(m[2])):
            return f"{alias.torch_name(m[2])}.{m[1]}"
    if isinstance(exc, AttributeError):
        if (m := _MODULE_ATTR.search(text)) and m[1].split(".")[0] == "cnnlab":
            return f"{alias.torch_name(m[1])}.{m[2]}"
        if (m := _OBJECT_ATTR.search(text)) and m[1] in _TENSOR_CLASSES:
            return f"{_TENSOR_CLASSES[m[1]]}.{m[2]}"
    if isinstance(exc, TypeError) and script is not None and (m := _KEYWORD.search(text)):
        owner = _keyword_owner(m[1], script)
        if owner is not None:
            return f"{owner}({m[2]}=...)"
    return None


def _script_line(tb, script: Path) -> int | None:
    """The line of the innermost frame of ``tb`` that is in the script."""
    line = None
    for frame in traceback.extract_tb(tb):
        if Path(frame.filename).resolve() == script:
            line = frame.lineno
    return line


def run_script(path, args=(), *, err=None) -> int:
    """Run the script at ``path`` with ``args`` on cnnlab; returns its exit status."""
    err = err or sys.stderr
    script = Path(path).resolve()
    if not script.is_file():
        print(f"cnnlab run: no such script: {path}", file=err)
        return 2
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(path), *args]
    sys.path.insert(0, str(script.parent))
    alias.install()
    try:
        runpy.run_path(str(script), run_name="__main__")
        return 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=err)
        return 1
    except Exception as e:
        feature = missing_feature(e, script)
        line = _script_line(e.__traceback__, script)
        if feature is None or line is None:
            traceback.print_exception(e, file=err)
            return 1
        print(f"cnnlab has no {feature} ({script.name}:{line})", file=err)
        return 1
    finally:
        alias.uninstall()
        sys.argv, sys.path[:] = saved_argv, saved_path
