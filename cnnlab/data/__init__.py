"""Data: datasets, the DataLoader and image transforms."""

from cnnlab.data import transforms
from cnnlab.data.dataset import (
    ArrayDataset,
    ConcatDataset,
    Dataset,
    DatasetError,
    IterableDataset,
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
from cnnlab.data.loader import DataLoader, default_collate, default_convert, get_worker_info
from cnnlab.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "CIFAR10",
    "MNIST",
    "ArrayDataset",
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DatasetError",
    "Digits",
    "FashionMNIST",
    "FashionScenes",
    "ImageFolder",
    "IterableDataset",
    "MNISTScenes",
    "MNISTSubset",
    "RandomSampler",
    "Sampler",
    "SceneDataset",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "data_dir",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
    "read_idx",
    "transforms",
]
