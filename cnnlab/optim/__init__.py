"""Optimisers, learning-rate schedulers and gradient clipping (PyTorch's semantics)."""

from cnnlab.optim import lr_scheduler
from cnnlab.optim.adadelta import Adadelta
from cnnlab.optim.adagrad import Adagrad
from cnnlab.optim.adam import Adam, AdamW
from cnnlab.optim.clip import clip_grad_norm_, clip_grad_value_
from cnnlab.optim.nadam import NAdam
from cnnlab.optim.optimizer import Optimizer
from cnnlab.optim.rmsprop import RMSprop
from cnnlab.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "NAdam",
    "Optimizer",
    "RMSprop",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
]
