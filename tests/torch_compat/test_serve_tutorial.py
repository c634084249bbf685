"""The README's walk-through: the quickstart run unchanged by ``cnnlab run`` saves its
state_dict with ``torch.save`` (and exports ONNX with ``torch.onnx.export``); ``cnnlab
serve``'s lab opens both through the model service (the state_dict with ``--script``, which
supplies the tutorial's own class) and they predict the same."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from cnnlab.models.loading import open_model
from cnnlab.serve.lab import Lab
from tests.torch_compat.test_programs import PROGRAMS, ROOT, needs_data

requires_onnx = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxruntime")),
    reason="onnx and onnxruntime are not installed",
)


@needs_data
@requires_onnx
def test_a_tutorials_export_opens_in_the_lab(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab.run", str(PROGRAMS / "quickstart.py"), "--onnx", "m.onnx"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    path = tmp_path / "m.onnx"
    loaded = open_model(path)
    assert loaded.shape == (1, 28, 28)
    probs = loaded.predict_probs(np.random.default_rng(0).random((3, 1, 28, 28), np.float32))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    lab = Lab(tmp_path / "no-runs", str(path))
    with lab.use(None) as m:
        assert m.info.shape == (1, 28, 28)
    saved = Lab(
        tmp_path / "no-runs", str(tmp_path / "model.pth"), script=PROGRAMS / "quickstart.py"
    )
    with saved.use(None) as m:
        assert m.info.shape == (1, 28, 28) and "NeuralNetwork" in m.info.source
        x = np.random.default_rng(1).random((4, 1, 28, 28), np.float32)
        np.testing.assert_allclose(m.info.predict_probs(x), loaded.predict_probs(x), atol=1e-5)
    with pytest.raises(ValueError, match="export_params=False is not supported"):
        import cnnlab.onnx

        cnnlab.onnx.export(None, None, tmp_path / "x.onnx", export_params=False)
