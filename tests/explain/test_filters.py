import numpy as np
import pytest

from cnnlab import models, nn
from cnnlab.explain import filter_grid, filters


def test_first_layer_grid_and_per_filter_normalisation():
    model = models.create("lenet5")
    w, grid = filters(model)
    np.testing.assert_array_equal(w, model.features[0].weight.numpy())
    assert grid.shape == (2 * 6 - 1, 3 * 6 - 1)  # 6 filters of 5x5 in 3 columns, 1 px gaps
    tile = grid[:5, :5]
    ref = (w[0, 0] - w[0, 0].min()) / (w[0, 0].max() - w[0, 0].min())
    np.testing.assert_allclose(tile, ref, rtol=1e-6)
    assert tile.min() == 0 and tile.max() == 1


def test_rgb_first_layer_is_in_colour_and_deeper_layers_in_grey():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3))
    _, grid = filters(model)
    assert grid.shape == (7, 7, 3)
    w, grid = filters(model, "2", max_channels=3)
    assert w.shape == (2, 4, 3, 3) and grid.shape == (7, 11)  # rows: filters, cols: channels
    with pytest.raises(ValueError, match="not a Conv2d"):
        filters(model, "1")
    with pytest.raises(ValueError, match="colour"):
        filter_grid(w, color=True)
