"""The ONNX tests need ``onnx`` and ``onnxruntime``: outside CI they are skipped (with the
reason) when either is missing; in CI (``CI`` set to true) a missing one fails the run at
start-up (tests/conftest.py), so that a broken set-up never passes as a run of skipped tests."""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
import pytest

MISSING = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]

# In CI a missing one is an error at start-up: tests/conftest.py lists both in REQUIRED_IN_CI.


def pytest_collection_modifyitems(config, items):
    if not MISSING:
        return
    here = os.path.dirname(__file__)
    skip = pytest.mark.skip(
        reason=f"{', '.join(MISSING)} not installed (pip install onnx onnxruntime)"
    )
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(skip)


def run_onnxruntime(path, x: np.ndarray, input_name: str = "input") -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {input_name: x})[0]


def calibrate(model, x: np.ndarray):
    """Set every batch norm's running statistics to those of batch ``x``; eval mode after."""
    import cnnlab
    from cnnlab import nn

    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.momentum = 1.0
    model.train()
    with cnnlab.no_grad():
        model(cnnlab.tensor(x))
    for m in bns:
        m.momentum = 0.1
    return model.eval()


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """``exported(name) -> (model in eval mode, path)``: a zoo model exported once per session
    (random weights, seeded), from an example batch of 2. Batch norms get running statistics
    from one batch of random images first, as a trained network has: with the initial (0, 1)
    statistics a random ResNet-110's logits reach 1e9 and no absolute tolerance means much."""
    from cnnlab import manual_seed, models
    from cnnlab.onnx import export

    root = tmp_path_factory.mktemp("onnx-zoo")

    @functools.cache
    def make(name: str):
        manual_seed(0)
        model = models.create(name)
        shape = models.info(name)["input_shape"]
        calibrate(model, np.random.default_rng(1).random((4, *shape), dtype=np.float32))
        x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
        path = root / f"{name}.onnx"
        export(model, x, path)
        return model, path

    return make
