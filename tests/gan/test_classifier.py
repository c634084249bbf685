"""Fitting images to a classifier and reading its features."""

import numpy as np

from cnnlab import models
from cnnlab.gan.classifier import ClassifierProbe, fit_images, missing_classifier_message
from cnnlab.gan.data import to_tanh_range
from cnnlab.train.checkpoint import save_checkpoint


def test_fit_images_pads_and_crops_around_the_centre():
    x = np.ones((2, 1, 28, 28), np.float32)
    padded = fit_images(x, (32, 32))
    assert padded.shape == (2, 1, 32, 32) and padded.sum() == x.sum()
    assert padded[0, 0, 1, 1] == 0 and padded[0, 0, 2, 2] == 1
    np.testing.assert_array_equal(fit_images(padded, (28, 28)), x)
    assert fit_images(x, (64, 64)).shape == (2, 1, 64, 64)


def test_fit_images_resizes_as_pillow_does_image_by_image():
    from PIL import Image

    x = np.random.default_rng(0).random((2, 3, 28, 28), dtype=np.float32)
    want = np.array(
        [
            [np.asarray(Image.fromarray(c).resize((64, 48), Image.Resampling.BILINEAR)) for c in im]
            for im in x
        ]
    )
    np.testing.assert_allclose(fit_images(x, (48, 64)), want, atol=1e-5)


def test_probe_reads_pooled_features_and_probabilities(tmp_path):
    m = models.create("fashion_cnn", num_classes=10, in_channels=1, widths=(4, 8))
    cfg = {"model": "fashion_cnn", "num_classes": 10, "in_channels": 1, "input_size": [28, 28]}
    cfg["model_options"] = {"widths": [4, 8]}
    save_checkpoint(tmp_path / "c.safetensors", model=m, config=cfg)
    probe = ClassifierProbe(tmp_path / "c.safetensors")
    r = probe.run(np.random.default_rng(0).random((5, 1, 32, 32), dtype=np.float32))
    assert r["features"].shape == (5, 8)  # the last conv stage's 8 channels, averaged
    np.testing.assert_allclose(r["probs"].sum(1), 1, rtol=1e-5)
    assert r["predicted"].shape == (5,)


def test_missing_classifier_message_says_how_to_train_one():
    assert "cnnlab train --data mnist-subset" in missing_classifier_message("mnist-subset")


def test_to_tanh_range():
    np.testing.assert_allclose(to_tanh_range(np.array([0.0, 0.5, 1.0])), [-1, 0, 1])
