"""``torchvision.transforms`` under cnnlab: the same names, arguments and results (Tensors
from PIL Images or arrays). cnnlab's own vectorised augmentations live in
:mod:`cnnlab.data.transforms`."""

from cnnlab.vision.transforms import functional
from cnnlab.vision.transforms.conversion import (
    Compose,
    Grayscale,
    Lambda,
    Normalize,
    PILToTensor,
    ToPILImage,
    ToTensor,
)
from cnnlab.vision.transforms.geometry import (
    CenterCrop,
    InterpolationMode,
    Pad,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "ToPILImage",
    "ToTensor",
    "functional",
]
