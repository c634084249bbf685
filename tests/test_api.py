"""The import surface: what ``import cnnlab`` gives, checked in fresh interpreters."""

import json
import subprocess
import sys

import pytest

import cnnlab

# attribute path after ``import cnnlab`` -> a name that must exist on it
SURFACE = {
    "nn": "Conv2d",
    "nn.functional": "conv2d",
    "optim": "SGD",
    "models": "create",
    "data": "DataLoader",
    "train": "Trainer",
    "io": "load_weights",
    "explain": "Explanation",
    "attacks": "fgsm",
    "inspect": "summary",
    "images": "load_image",
}

HEAVY = ["matplotlib", "scipy", "tqdm", "PIL"] + [f"cnnlab.{p}" for p in SURFACE]


def _fresh(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("path", sorted(SURFACE))
def test_subpackage_is_an_attribute_after_import_cnnlab(path):
    expr = f"cnnlab.{path}.{SURFACE[path]}"
    out = _fresh(f"import cnnlab; obj = {expr}; print(type(obj).__name__)")
    assert out.strip(), f"{expr} gave nothing"


def test_import_cnnlab_loads_no_heavy_module():
    out = _fresh(
        f"import sys, json, cnnlab; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    assert json.loads(out) == []


def test_dir_lists_the_subpackages_present():
    names = dir(cnnlab)
    for path in SURFACE:
        if "." not in path:
            assert path in names
    for name in cnnlab._LAZY_SUBPACKAGES:
        assert (name in names) == cnnlab._subpackage_present(name)


def test_absent_subpackage_raises_a_clear_attribute_error(monkeypatch):
    monkeypatch.setattr(cnnlab, "_LAZY_SUBPACKAGES", (*cnnlab._LAZY_SUBPACKAGES, "not_a_pkg"))
    with pytest.raises(AttributeError, match="cnnlab.not_a_pkg is not part of this copy"):
        cnnlab.not_a_pkg  # noqa: B018
    assert "not_a_pkg" not in dir(cnnlab)


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        cnnlab.nonexistent  # noqa: B018


def test_summary_save_load_and_dtype_names_are_reexported_lazily():
    from cnnlab.inspect import summary
    from cnnlab.io import load, save

    assert cnnlab.summary is summary and cnnlab.save is save and cnnlab.load is load
    assert cnnlab.float32 == "float32" and cnnlab.long == "int64"
    out = _fresh("import cnnlab; print(cnnlab.save.__module__, cnnlab.float64)")
    assert out.split() == ["cnnlab.io.serialization", "float64"]


def test_every_public_name_resolves_and_the_torch_functions_load_lazily():
    out = _fresh(
        "import sys, json, cnnlab\n"
        "lazy = ('linalg', 'logic', 'pointwise', 'reduce', 'shape')\n"
        "early = [m for m in lazy if 'cnnlab.functions.' + m in sys.modules]\n"
        "missing = [n for n in cnnlab.__all__ if not hasattr(cnnlab, n)]\n"
        "print(json.dumps([early, missing, cnnlab.max is cnnlab.functions.reduce.max]))"
    )
    early, missing, same = json.loads(out)
    assert early == [] and missing == [] and same
