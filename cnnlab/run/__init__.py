"""``cnnlab run SCRIPT [ARGS]`` / ``python -m cnnlab.run SCRIPT [ARGS]``: an unmodified
PyTorch script run on cnnlab (``torch`` and ``torchvision`` resolved to cnnlab in-process)."""

from cnnlab.run.alias import TorchFeatureMissing, install, uninstall
from cnnlab.run.script import missing_feature, run_script

__all__ = ["TorchFeatureMissing", "install", "missing_feature", "run_script", "uninstall"]
