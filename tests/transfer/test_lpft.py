"""LP-FT's first stage: the probe written into the classifier computes the probe's logits."""

import numpy as np
import pytest

import cnnlab
from cnnlab import models
from cnnlab.transfer import features, probe_head


def _model_and_data(n=40, seed=0):
    cnnlab.manual_seed(seed)
    model = models.create("fashion_cnn", num_classes=10, in_channels=1).eval()
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 28, 28)).astype(np.float32)
    y = np.arange(n) % 10
    return model, x, y


def test_the_head_computes_the_probes_logits_on_the_frozen_features():
    model, x, y = _model_and_data()
    f, _ = features(model, (x, y), progress=False)
    r = probe_head(model, f, y, C=10.0, steps=100)
    head = model.classifier[1]
    # the weight is the probe's (trained on f / scale) divided by the scale
    np.testing.assert_allclose(np.asarray(head.weight.array), r["weight"] / r["scale"], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(head.bias.array), r["bias"], rtol=1e-6)
    assert r["scale"] == pytest.approx(float(np.linalg.norm(f, axis=1).mean()), rel=1e-6)
    with cnnlab.no_grad():
        logits = np.asarray(model(cnnlab.tensor(x)).array)
    expected = (f / r["scale"]) @ r["weight"].T + r["bias"]
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)
    assert (logits.argmax(1) == y).mean() == pytest.approx(r["train_acc"])


def test_bad_features_labels_or_head_name_are_one_clear_line():
    model, x, y = _model_and_data(n=10)
    f, _ = features(model, (x, y), progress=False)
    with pytest.raises(ValueError, match=r"features must be \(N, \d+\)") as e:
        probe_head(model, f[:, :5], y)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="labels go up to 12"):
        probe_head(model, f, np.full(len(f), 12))
    with pytest.raises(ValueError, match="no Linear layer named 'features.0'"):
        probe_head(model, f, y, head="features.0")
