"""``torch.utils.data`` under its PyTorch name: the same classes as :mod:`cnnlab.data`
(one implementation), so ``from cnnlab.utils.data import DataLoader`` is
``cnnlab.data.DataLoader``."""

from cnnlab.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
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
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
