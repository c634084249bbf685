"""Grad-CAM of a class over a region of a segmenter's output, against PyTorch."""

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.explain.segment_cam import region_mask, segment_grad_cam, segment_target
from tests.helpers import requires_torch, torch


def _tiny_segmenter():
    cnnlab.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 1)).eval()


@requires_torch
@pytest.mark.parametrize("region", [None, (2, 3, 9, 7)])
def test_matches_a_torch_reference_for_a_box_and_for_the_predicted_pixels(region):
    model = _tiny_segmenter()
    x = np.random.default_rng(0).random((1, 10, 12), dtype=np.float32)
    e = segment_grad_cam(model, x, target=2, region=region)
    assert e.extra["layer"] == "0" and e.target == 2  # the conv feeding the classifier
    w = {k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()}
    F = torch.nn.functional
    xt = torch.tensor(x[None], requires_grad=True)
    a = F.conv2d(xt, w["0.weight"], w["0.bias"], padding=1)
    a.retain_grad()
    y = F.conv2d(torch.relu(a), w["2.weight"], w["2.bias"])
    if region is None:
        mask = (y[0].argmax(0) == 2).double()
    else:
        mask = torch.zeros(10, 12, dtype=torch.float64)
        mask[3:7, 2:9] = 1
    (y[0, 2] * mask).sum().backward()
    g, acts = a.grad.numpy()[0], a.detach().numpy()[0]
    ref = np.maximum((g.mean(axis=(1, 2))[:, None, None] * acts).sum(0), 0)
    np.testing.assert_allclose(e.extra["cam"], ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(e.extra["region"], mask.numpy().astype(bool))
    assert e.map.shape == (10, 12) and e.extra["pixels"] == int(mask.sum())


def test_default_target_is_the_largest_predicted_class_not_the_background():
    labels = np.zeros((6, 6), int)
    labels[:2] = 3
    labels[4, :2] = 1
    assert segment_target(labels) == 3 and segment_target(labels, 1) == 1
    assert segment_target(np.zeros((4, 4), int)) == 0
    box = region_mask((1, 2, 4, 3), (5, 6))
    assert box.sum() == 3 and box[2, 1:4].all()


def test_bad_regions_and_models_say_what_was_expected():
    x = np.zeros((1, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"box \(x1, y1, x2, y2\) or a 8x8 mask"):
        segment_grad_cam(_tiny_segmenter(), x, region=(1, 2, 3))
    with pytest.raises(ValueError, match="covers no pixel"):
        segment_grad_cam(_tiny_segmenter(), x, region=(20, 20, 30, 30))
    with pytest.raises(ValueError, match=r"must output \(1, classes, H, W\)"):
        segment_grad_cam(models.create("lenet5"), np.zeros((1, 28, 28), np.float32))


def test_a_zoo_segmenter_explains_its_aspp_projection():
    model = models.create("dilated_fcn", width=4)
    x = np.random.default_rng(1).random((1, 32, 32), dtype=np.float32)
    e = segment_grad_cam(model, x, target=1, region=(0, 0, 16, 16))
    assert e.extra["layer"] == "aspp.project.0" and e.extra["cam"].shape == (32, 32)
