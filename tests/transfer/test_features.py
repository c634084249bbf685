"""cnnlab.features: the (N, D) features equal a manual forward to the layer."""

import numpy as np
import pytest

import cnnlab
from cnnlab.models.simple import FashionCNN
from cnnlab.transfer import extract, features


def _net():
    cnnlab.manual_seed(0)
    return FashionCNN(num_classes=3, in_channels=1, input_size=8, widths=(4, 6))


def _data(n=10):
    rng = np.random.default_rng(1)
    return rng.random((n, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, n)


def test_default_layer_is_the_classifier_input_and_equals_a_manual_forward():
    model, (x, y) = _net(), _data()
    f, labels = features(model, (x, y), batch_size=3, progress=False)
    model.eval()
    with cnnlab.no_grad():
        want = model.features(cnnlab.tensor(x)).flatten(1).array
    assert f.shape == (10, want.shape[1]) and np.array_equal(labels, y)
    np.testing.assert_allclose(f, want, rtol=1e-6, atol=1e-6)


def test_a_named_layer_equals_the_forward_up_to_it_and_the_mode_is_restored():
    model, (x, y) = _net(), _data()
    model.train()
    f, _ = features(model, (x, y), layer="features.3", batch_size=4, progress=False)
    assert model.training
    model.eval()
    with cnnlab.no_grad():
        h = cnnlab.tensor(x)
        for m in list(model.features)[:4]:
            h = m(h)
    np.testing.assert_allclose(f, h.array.reshape(10, -1), rtol=1e-6, atol=1e-6)


def test_datasets_and_several_layers_in_one_pass():
    from cnnlab.data import ArrayDataset

    model, (x, y) = _net(), _data()
    ds = ArrayDataset((x[:, 0] * 255).astype(np.uint8), y)
    feats, labels = extract(model, ds, (None, "features.0"), batch_size=4, progress=False)
    ref, _ = features(model, (ds.get_batch(np.arange(10))[0], y), progress=False)
    # extract runs a fused copy (cnnlab.nn.fusion): the same features up to rounding
    np.testing.assert_allclose(feats[None], ref, rtol=1e-6, atol=1e-6)
    assert feats["features.0"].shape == (10, 4 * 8 * 8) and np.array_equal(labels, y)


def test_a_bad_layer_name_is_one_clear_line():
    with pytest.raises(ValueError, match="no layer 'feature.3'.*features, classifier") as e:
        features(_net(), _data(), layer="feature.3", progress=False)
    assert "\n" not in str(e.value)


def test_cnnlab_features_and_linear_probe_load_lazily():
    import subprocess
    import sys

    code = (
        "import sys, cnnlab; assert 'cnnlab.transfer' not in sys.modules; "
        "from cnnlab.transfer import features, linear_probe; "
        "assert cnnlab.features is features and cnnlab.linear_probe is linear_probe"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
