import sys

import pytest

import cnnlab
from cnnlab.run import alias


def test_torch_imports_give_cnnlabs_own_modules_and_real_torch_comes_back():
    real = sys.modules.get("torch")
    alias.install()
    try:
        import torch
        import torch.nn.functional as F
        import torchvision.transforms as T
        from torch.utils.data import DataLoader

        assert torch is cnnlab and F is cnnlab.nn.functional
        assert T is cnnlab.vision.transforms and DataLoader is cnnlab.data.DataLoader
        with pytest.raises(alias.TorchFeatureMissing, match="cnnlab has no torch.distributions"):
            import torch.distributions  # noqa: F401
    finally:
        alias.uninstall()
    assert sys.modules.get("torch") is real
    assert "torchvision" not in sys.modules


@pytest.mark.parametrize(
    "module, torch_name",
    [
        ("cnnlab", "torch"),
        ("cnnlab.nn.init", "torch.nn.init"),
        ("cnnlab.vision.utils", "torchvision.utils"),
    ],
)
def test_names_map_both_ways(module, torch_name):
    assert alias.torch_name(module) == torch_name
    assert alias.cnnlab_name(torch_name) == module
    assert alias.cnnlab_name("numpy") is None


def test_an_aliased_import_leaves_cnnlabs_own_module_spec():
    # regression: `import torch` through the hook set cnnlab.__spec__ to the alias's spec
    # (name "torch", no origin), and Flask's app setup (find_spec("cnnlab")) then failed
    import importlib
    import importlib.util

    import cnnlab
    from cnnlab.run import alias

    alias.install()
    try:
        torch_alias = importlib.import_module("torch")
        importlib.import_module("torch.nn")
    finally:
        alias.uninstall()
    assert torch_alias is cnnlab
    assert cnnlab.__spec__.name == "cnnlab" and cnnlab.nn.__spec__.name == "cnnlab.nn"
    assert importlib.util.find_spec("cnnlab").origin.endswith("__init__.py")
