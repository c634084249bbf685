"""Reading and writing weights: safetensors files, PyTorch checkpoints read safely without
torch, pretrained weight files and ImageNet class names."""

from cnnlab.io.pretrained import WEIGHTS, data_dir, imagenet_classes, weights_path
from cnnlab.io.safetensors_io import load_weights, save_weights
from cnnlab.io.serialization import load, save
from cnnlab.io.torch_pickle import UnsafePickleError, is_torch_file, load_torch_checkpoint

__all__ = [
    "WEIGHTS",
    "UnsafePickleError",
    "data_dir",
    "imagenet_classes",
    "is_torch_file",
    "load",
    "load_torch_checkpoint",
    "load_weights",
    "save",
    "save_weights",
    "weights_path",
]
