import numpy as np
import pytest
from PIL import Image

from cnnlab.data import DatasetError, ImageFolder


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    pixels = {}
    for cls, count in (("dog", 2), ("cat", 3)):
        (tmp_path / cls).mkdir()
        for i in range(count):
            px = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
            Image.fromarray(px).save(tmp_path / cls / f"{i}.png")
            pixels[(cls, i)] = px
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    return tmp_path, pixels


def test_image_folder(folder):
    root, pixels = folder
    ds = ImageFolder(root)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 5 and [t for _, t in ds.samples] == [0, 0, 0, 1, 1]
    img, label = ds[3]
    assert img.shape == (3, 6, 5) and img.dtype == np.float32 and label == 1
    np.testing.assert_allclose(img, pixels[("dog", 0)].transpose(2, 0, 1) / 255, rtol=1e-6)


def test_image_folder_gray_and_resize(folder):
    root, pixels = folder
    img, _ = ImageFolder(root, grayscale=True)[0]
    gray = pixels[("cat", 0)] @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, unrounded
    assert img.shape == (1, 6, 5)
    np.testing.assert_allclose(img[0], gray / 255, atol=1e-6)
    pil = np.asarray(Image.fromarray(pixels[("cat", 0)]).convert("L"))  # PIL rounds to uint8
    np.testing.assert_allclose(img[0], pil / 255, atol=0.51 / 255)
    assert ImageFolder(root, size=4)[0][0].shape == (3, 4, 4)
    assert ImageFolder(root, size=(3, 7), grayscale=True)[0][0].shape == (1, 3, 7)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="no class sub-folders"):
        ImageFolder(tmp_path)
    (tmp_path / "a").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        ImageFolder(tmp_path)
