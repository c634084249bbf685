"""Every optimiser, scheduler and layer cnnlab shares with PyTorch takes PyTorch's arguments
with PyTorch's defaults (deprecated ones and torch's execution switches left out)."""

import inspect

import pytest

import cnnlab
import cnnlab.nn
import cnnlab.optim
import cnnlab.optim.lr_scheduler
from tests.helpers import requires_torch, torch

IGNORED = {  # torch's execution switches and deprecated arguments
    "self", "params", "optimizer", "foreach", "capturable", "differentiable", "fused", "device",
    "dtype", "verbose", "size_average", "reduce", "min_value", "max_value",
    "recompute_scale_factor", "args", "kwargs",
}  # fmt: skip
OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adadelta", "RMSprop", "Adagrad", "NAdam"]
SCHEDULERS = [n for n in cnnlab.optim.lr_scheduler.__all__ if n != "LRScheduler"]
LAYERS = [
    "Linear", "Conv1d", "Conv2d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "Dropout",
    "Dropout2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "LSTM", "GRU", "RNN",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "BCEWithLogitsLoss", "LeakyReLU", "ELU", "GELU",
    "Softmax", "LogSoftmax", "Flatten", "Upsample", "Hardtanh",
]  # fmt: skip


def _pairs():
    for name in OPTIMIZERS:
        yield f"optim.{name}", getattr(cnnlab.optim, name), ("optim", name)
    for name in SCHEDULERS:
        yield f"lr_scheduler.{name}", getattr(cnnlab.optim.lr_scheduler, name), ("sched", name)
    for name in LAYERS:
        yield f"nn.{name}", getattr(cnnlab.nn, name), ("nn", name)


CASES = {key: (ours, where) for key, ours, where in _pairs()}


@requires_torch
@pytest.mark.parametrize("key", CASES)
def test_arguments_and_defaults_are_torchs(key):
    ours, (kind, name) = CASES[key]
    module = {"optim": torch.optim, "sched": torch.optim.lr_scheduler, "nn": torch.nn}[kind]
    theirs = inspect.signature(getattr(module, name)).parameters
    mine = inspect.signature(ours).parameters
    for arg, p in theirs.items():
        if arg in IGNORED:
            continue
        assert arg in mine, f"{key} lacks torch's argument {arg!r}"
        if p.default is not inspect.Parameter.empty:
            want = p.default
            got = mine[arg].default
            got = tuple(got) if isinstance(want, tuple) and isinstance(got, list) else got
            assert got == want, f"{key}({arg}=...): cnnlab {got!r}, torch {want!r}"
