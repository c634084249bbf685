import numpy as np

from cnnlab import models, nn
from cnnlab.explain import activation_grid, activations, top_k_images


def test_activations_are_the_layer_output():
    model = models.create("lenet5")
    x = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    a = activations(model, x, "features.1")
    conv = model.features[0]
    # independent reference: the 5x5 correlation written in NumPy, then max(0, .)
    pad = conv.padding[0]
    xp = np.pad(x[0].astype(np.float64), pad)
    windows = np.lib.stride_tricks.sliding_window_view(xp, (5, 5))  # (28, 28, 5, 5)
    w, bias = conv.weight.array[:, 0].astype(np.float64), conv.bias.array.astype(np.float64)
    ref = np.maximum(np.einsum("ijkl,ckl->cij", windows, w) + bias[:, None, None], 0)
    np.testing.assert_allclose(a, ref, rtol=1e-4, atol=1e-5)
    grid = activation_grid(a)
    assert grid.shape == (2 * 29 - 1, 3 * 29 - 1) and grid.max() <= 1  # 6 maps, 3 columns


def test_top_k_finds_the_images_that_excite_a_channel():
    model = nn.Sequential(nn.Conv2d(1, 2, 3))
    w = np.zeros((2, 1, 3, 3), np.float32)
    w[1, 0, 1, :] = 1.0  # channel 1 detects horizontal bars
    model[0].weight.array[...] = w
    model[0].bias.array[...] = 0
    rng = np.random.default_rng(0)
    data = rng.random((40, 1, 12, 12), dtype=np.float32) * 0.3
    for i, strength in [(7, 3.0), (23, 2.0), (31, 1.5)]:
        data[i, 0, 5, 2:9] += strength
    dataset = [(img, 0) for img in data]  # (image, label) items, like a Dataset
    idx, scores = top_k_images(model, dataset, "0", channel=1, k=3, batch_size=16)
    assert list(idx) == [7, 23, 31] and scores[0] > scores[1] > scores[2]
    idx2, _ = top_k_images(model, data, "0", channel=1, k=3, reduce="mean")
    assert 7 in idx2
