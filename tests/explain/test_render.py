import numpy as np
import pytest
from PIL import Image

from cnnlab.explain import Explanation, make_grid, overlay, save_png
from cnnlab.explain.render import heatmap, signed_image


def test_grid_layout_and_padding():
    tiles = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    g = make_grid(tiles, ncol=2, pad=1, pad_value=-1)
    assert g.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(g[3:5, 4:7], tiles[3])
    assert g[2, 0] == -1


def test_heatmap_overlay_and_png(tmp_path):
    m = np.outer(np.arange(8), np.ones(8)).astype(np.float32)
    h = heatmap(m)
    assert h.shape == (8, 8, 3) and 0 <= h.min() and h.max() <= 1
    img = np.full((1, 8, 8), 0.5, np.float32)
    o = overlay(img, m)
    np.testing.assert_allclose(o[0], 0.5)  # zero map: the image shows through
    with pytest.raises(ValueError, match="differ"):
        overlay(img, m[:4])
    p = save_png(tmp_path / "x.png", o)
    assert Image.open(p).size == (112, 112)  # enlarged 14x, nearest neighbour
    s = signed_image(np.array([[[-2.0, 0.0, 1.0]]]))
    np.testing.assert_allclose(s, [[0.0, 0.5, 0.75]])


def test_explanation_save_writes_input_map_overlay_raw(tmp_path):
    e = Explanation(np.zeros((3, 6, 6), np.float32), np.ones((6, 6)), raw=np.ones((3, 6, 6)))
    names = sorted(p.name for p in e.save(tmp_path, "a"))
    assert names == ["a_input.png", "a_map.png", "a_overlay.png", "a_raw.png"]
