"""Optimisers, learning-rate schedulers and gradient clipping (PyTorch's semantics)."""

from cnnlab.optim import lr_scheduler
from cnnlab.optim.adam import Adam, AdamW
from cnnlab.optim.clip import clip_grad_norm_, clip_grad_value_
from cnnlab.optim.optimizer import Optimizer
from cnnlab.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
]
