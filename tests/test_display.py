"""cnnlab.show and the rich display of summaries, explanations and attack results."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab import explain, models
from cnnlab.display import Picture, html_table, show
from tests.helpers import seeded


def _png_size(data: bytes) -> tuple:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize(
    "shape, size",
    [
        ((28, 28), (112, 112)),  # grey image, enlarged 4x
        ((1, 28, 28), (112, 112)),
        ((3, 32, 32), (128, 128)),  # RGB (C, H, W), enlarged 4x
        ((32, 32, 3), (128, 128)),
        ((4, 1, 10, 10), (22 * 6, 22 * 6)),  # a batch: 2x2 grid, 2 px apart
        ((9, 10, 10), (32 * 4, 32 * 4)),  # feature maps: 3x3 grid, 1 px apart
        ((1, 9, 10, 10), (32 * 4, 32 * 4)),
    ],
)
def test_show_draws_images_batches_and_feature_maps(shape, size):
    pic = show(cnnlab.tensor(seeded(0).standard_normal(shape).astype(np.float32)))
    assert isinstance(pic, Picture)
    assert _png_size(pic._repr_png_()) == size


def test_show_normalises_each_feature_map_alone():
    maps = np.stack([np.full((4, 4), 1e-3), np.arange(16.0).reshape(4, 4) * 100])
    maps[0, 0, 0] = 0
    pic = show(maps, ncol=2)
    left, right = pic.array[:, :4], pic.array[:, 5:]
    assert left.max() == 1.0 and right.max() == 1.0  # both stretched to [0, 1]


def test_show_clips_without_normalize_and_saves(tmp_path):
    pic = show(np.array([[-1.0, 0.5], [2.0, np.nan]]), normalize=False, save=tmp_path / "a.png")
    np.testing.assert_array_equal(pic.array, [[0.0, 0.5], [1.0, 0.0]])
    assert (tmp_path / "a.png").read_bytes() == pic.png()
    assert "2x2" in repr(pic) and ".save" in repr(pic)


def test_show_refuses_a_shape_it_cannot_draw():
    with pytest.raises(ValueError, match=r"show: expected an image .* got shape \(2, 3, 4, 5, 6\)"):
        show(np.zeros((2, 3, 4, 5, 6)))
    with pytest.raises(ValueError, match="Picture: expected"):
        Picture(np.zeros((3, 4, 5)))


def test_html_table_escapes_every_cell():
    out = html_table(["<b>h</b>"], [["<img src=x onerror=alert(1)>"]], caption="a & b")
    assert "<img" not in out and "&lt;img src=x" in out and "a &amp; b" in out


def test_summary_displays_as_an_html_table():
    out = cnnlab.summary(models.create("lenet5"), (1, 28, 28))._repr_html_()
    assert out.startswith("<table><caption>LeNet5 on input 1x28x28: 61,706 parameters")
    assert out.count("<tr>") == 1 + len(cnnlab.summary(models.create("lenet5"), (1, 28, 28)).rows)


def test_an_explanation_displays_input_map_and_overlay():
    model = models.create("lenet5").eval()
    e = explain.saliency(model, seeded(1).random((1, 28, 28)).astype(np.float32), target=3)
    w, h = _png_size(e._repr_png_())
    assert h == 112 and w == 3 * 112 + 2 * 4  # three panels, 4 px apart
    assert show(e).title == "target 3"


def test_an_attack_result_displays_its_table_and_examples():
    from cnnlab.attacks import fgsm

    model = models.create("lenet5").eval()
    x = seeded(2).random((3, 1, 28, 28)).astype(np.float32)
    r = fgsm(model, x, np.array([0, 1, 2]), eps=0.1)
    out = r._repr_html_()
    assert "<caption>fgsm on 3 images" in out and 'src="data:image/png;base64,' in out
    w, h = _png_size(show(r).png())
    assert h >= 224 and w > h / 3


def test_show_takes_a_picture_and_copies_it(tmp_path):
    pic = Picture(np.full((4, 4, 3), 0.5), "scene")
    shown = show(pic, title="other", save=tmp_path / "p.png")
    assert shown is not pic and pic.title == "scene" and shown.title == "other"
    np.testing.assert_array_equal(shown.array, pic.array)
    assert (tmp_path / "p.png").read_bytes() == pic.png()
