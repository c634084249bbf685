"""A PyTorch script's own model class, rebuilt to hold a ``state_dict`` it saved: how
``cnnlab serve model.pth --script tutorial.py`` opens what a tutorial wrote with
``torch.save(model.state_dict(), "model.pth")`` (a state_dict holds weights, not the class).

Only the script's definitions run: its imports (``torch`` resolved to cnnlab, as under
``cnnlab run``), its ``class`` and ``def`` statements and its top-level assignments of
literal constants (``hidden = 512``). Training loops, data loading and everything under
``if __name__ == "__main__"`` are left out. The user names the script, as for ``cnnlab run``:
running its definitions is running code they chose; nothing in a checkpoint picks a script.
"""

from __future__ import annotations

import ast
import types
from pathlib import Path

import numpy as np

__all__ = ["INPUT_SHAPES", "ScriptModelError", "model_from_script"]

# tried in this order when no input shape is given: the tutorials' image sizes
INPUT_SHAPES = ((1, 28, 28), (3, 32, 32), (1, 32, 32), (3, 28, 28), (3, 224, 224))


class ScriptModelError(ValueError):
    """The script defines no class that takes the state_dict, or no input shape fits."""


def _literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def definitions(source: str, filename: str) -> ast.Module:
    """The script's imports, classes, functions and literal constants, nothing else."""
    tree = ast.parse(source, filename)
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef)):
            keep.append(node)
        elif isinstance(node, ast.Assign) and _literal(node.value):
            if all(isinstance(t, (ast.Name, ast.Tuple)) for t in node.targets):
                keep.append(node)
    return ast.Module(body=keep, type_ignores=[])


def _namespace(script: Path) -> dict:
    from cnnlab.run import alias

    code = compile(definitions(script.read_text(), str(script)), str(script), "exec")
    module = types.ModuleType(f"cnnlab_script_{script.stem}")
    module.__file__ = str(script)
    alias.install()
    try:
        exec(code, module.__dict__)  # noqa: S102 (the user named this script, as for cnnlab run)
    finally:
        alias.uninstall()
    return module.__dict__


def _shapes(state: dict) -> dict:
    return {k: tuple(np.shape(v)) for k, v in state.items()}


def model_from_script(script, state: dict, class_name: str | None = None, input_shape=None):
    """``(model in eval mode with ``state`` loaded, input shape (C, H, W))``: the first
    ``nn.Module`` class of ``script`` (or ``class_name``) that builds with no arguments and
    whose state_dict has exactly ``state``'s keys and shapes. ``input_shape=None`` tries
    :data:`INPUT_SHAPES` and takes the first one the model runs on."""
    import cnnlab
    from cnnlab import nn

    script = Path(script)
    if not script.is_file():
        raise ScriptModelError(f"--script: {script} is not a file")
    space = _namespace(script)
    classes = [
        v
        for k, v in space.items()
        if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == space["__name__"]
    ]
    if class_name is not None:
        classes = [c for c in classes if c.__name__ == class_name]
    want, tried = _shapes(state), []
    for cls in classes:
        try:
            model = cls()
        except Exception as e:  # noqa: BLE001 (a class needing arguments is skipped, reported)
            tried.append(f"{cls.__name__} ({type(e).__name__}: {e})")
            continue
        have = _shapes(model.state_dict())
        if have != want:
            tried.append(f"{cls.__name__} (other parameters)")
            continue
        model.load_state_dict({k: np.asarray(v) for k, v in state.items()})
        model.eval()
        return model, _input_shape(model, input_shape, cnnlab)
    what = f"class {class_name}" if class_name else "nn.Module class"
    raise ScriptModelError(
        f"--script: no {what} of {script.name} built with no arguments holds this state_dict "
        f"({len(want)} tensors); tried: {', '.join(tried) or 'none defined'}"
    )


def _input_shape(model, input_shape, cnnlab) -> tuple:
    shapes = [tuple(int(s) for s in input_shape)] if input_shape is not None else INPUT_SHAPES
    for shape in shapes:
        try:
            with cnnlab.no_grad():
                out = model(cnnlab.zeros(2, *shape))
        except Exception:  # noqa: BLE001, S112 (a shape the model cannot take: try the next)
            continue
        if getattr(out, "ndim", 0) == 2:
            return shape
    raise ScriptModelError(
        f"--script: the model takes none of the input shapes {list(shapes)} to (N, classes) "
        "logits; give --input-shape C,H,W"
    )
