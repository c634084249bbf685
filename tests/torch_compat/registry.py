"""The idioms' registry and the helpers they share (deterministic weights, a small LeNet).

An idiom is ``fn(torch)``: a snippet written as the tutorials write it, run once with
``torch`` bound to cnnlab and once to PyTorch (``tests/torch_compat/test_idioms.py``).
"""

from __future__ import annotations

import inspect

import cnnlab

IDIOMS: dict = {}


def idiom(fn=None, *, ref: bool = True, waits_for: str | None = None):
    """Register ``fn(torch)``; ``ref=False`` when PyTorch's answer is random or differs on
    purpose (then the snippet asserts what must hold); ``waits_for`` names what it needs."""

    def register(f):
        IDIOMS[f.__name__] = (f, ref, waits_for)
        return f

    return register(fn) if fn is not None else register


# Conditions for the idioms that wait for work outside this branch.
_HAS_UTILS_DATA = cnnlab._subpackage_present("utils")
_LOAD_TAKES_TORCH_ARGS = "weights_only" in inspect.signature(cnnlab.load).parameters
UTILS_WAIT = None if _HAS_UTILS_DATA else "cnnlab.utils.data (part B, branch torchrun)"
LOAD_WAIT = None if _LOAD_TAKES_TORCH_ARGS else "cnnlab.load(weights_only=) (part B, torchrun)"
ADADELTA_WAIT = None if hasattr(cnnlab.optim, "Adadelta") else "optim.Adadelta (part B, torchrun)"


def fill_weights(torch, model):
    """Deterministic weights, the same in both frameworks."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.linspace(-0.3, 0.3, p.numel()).reshape(p.shape))
    return model


def small_lenet(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.conv2 = nn.Conv2d(4, 8, 3)
            self.fc1 = nn.Linear(8 * 4 * 4, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.relu(self.conv2(x))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    return fill_weights(torch, Net())


def sample_images(torch, n=4):
    return torch.linspace(-1, 1, n * 14 * 14).reshape(n, 1, 14, 14).sin()
