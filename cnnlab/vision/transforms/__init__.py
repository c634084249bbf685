"""``torchvision.transforms`` under cnnlab: the same names, arguments and results (Tensors
from PIL Images or arrays). cnnlab's own vectorised augmentations live in
:mod:`cnnlab.data.transforms`."""

from cnnlab.vision.transforms import functional
from cnnlab.vision.transforms.affine import RandomAffine, RandomRotation
from cnnlab.vision.transforms.augment import (
    ConvertImageDtype,
    GaussianBlur,
    RandomApply,
    RandomChoice,
    RandomErasing,
    RandomGrayscale,
    RandomOrder,
)
from cnnlab.vision.transforms.color import ColorJitter
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
    "ColorJitter",
    "Compose",
    "ConvertImageDtype",
    "GaussianBlur",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomAffine",
    "RandomApply",
    "RandomChoice",
    "RandomCrop",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomOrder",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomVerticalFlip",
    "Resize",
    "ToPILImage",
    "ToTensor",
    "functional",
]
