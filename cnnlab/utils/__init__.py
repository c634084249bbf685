"""PyTorch's ``torch.utils`` path: ``cnnlab.utils.data`` is :mod:`cnnlab.data`'s loading API."""

from cnnlab.utils import data

__all__ = ["data"]
