"""Data: datasets, the DataLoader and image transforms."""

from cnnlab.data import transforms
from cnnlab.data.dataset import (
    ArrayDataset,
    Dataset,
    DatasetError,
    Subset,
    TensorDataset,
    random_split,
)
from cnnlab.data.datasets import (
    CIFAR10,
    MNIST,
    Digits,
    FashionMNIST,
    FashionScenes,
    ImageFolder,
    MNISTScenes,
    MNISTSubset,
    SceneDataset,
    data_dir,
    read_idx,
)
from cnnlab.data.loader import DataLoader, default_collate

__all__ = [
    "CIFAR10",
    "MNIST",
    "ArrayDataset",
    "DataLoader",
    "Dataset",
    "DatasetError",
    "Digits",
    "FashionMNIST",
    "FashionScenes",
    "ImageFolder",
    "MNISTScenes",
    "MNISTSubset",
    "SceneDataset",
    "Subset",
    "TensorDataset",
    "data_dir",
    "default_collate",
    "random_split",
    "read_idx",
    "transforms",
]
