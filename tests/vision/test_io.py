"""torchvision.io's image functions: pixels as the files hold them, modes, 16-bit PNGs,
JPEG luma, round trips and errors."""

import numpy as np
import pytest
from PIL import Image

from cnnlab.vision.io import (
    ImageReadMode,
    decode_image,
    read_file,
    read_image,
    write_jpeg,
    write_png,
)


@pytest.fixture
def pixels():
    return np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)


def test_png_pixels_and_modes(tmp_path, pixels):
    Image.fromarray(pixels).save(tmp_path / "rgb.png")
    out = read_image(tmp_path / "rgb.png")
    assert out.dtype == np.uint8 and out.shape == (3, 7, 9)
    np.testing.assert_array_equal(out.array, pixels.transpose(2, 0, 1))
    rgba = read_image(str(tmp_path / "rgb.png"), ImageReadMode.RGB_ALPHA).array
    assert rgba.shape == (4, 7, 9) and (rgba[3] == 255).all()
    grey = read_image(tmp_path / "rgb.png", ImageReadMode.GRAY).array
    luma = pixels.astype(float) @ [0.299, 0.587, 0.114]
    assert grey.shape == (1, 7, 9) and np.abs(grey[0] - luma).max() <= 1


def test_palette_and_16_bit_images_as_torchvision_reads_them(tmp_path, pixels):
    pal = Image.fromarray(pixels).convert("P")
    pal.save(tmp_path / "pal.png")
    np.testing.assert_array_equal(read_image(tmp_path / "pal.png").array[0], np.asarray(pal))
    rgb = read_image(tmp_path / "pal.png", ImageReadMode.RGB).array
    np.testing.assert_array_equal(rgb, np.asarray(pal.convert("RGB")).transpose(2, 0, 1))
    deep = np.random.default_rng(1).integers(0, 65535, (5, 6), dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "g16.png")
    out = read_image(tmp_path / "g16.png").array
    assert out.dtype == np.uint16 and (out[0] == deep).all()
    three = read_image(tmp_path / "g16.png", ImageReadMode.RGB).array
    assert three.shape == (3, 5, 6) and (three == deep).all()


def test_jpeg_grey_is_the_files_own_luma(tmp_path, pixels):
    Image.fromarray(pixels).save(tmp_path / "x.jpg", quality=90)
    grey = read_image(tmp_path / "x.jpg", ImageReadMode.GRAY).array[0]
    y_plane = np.asarray(Image.open(tmp_path / "x.jpg").convert("YCbCr"))[..., 0]
    assert np.abs(grey.astype(int) - y_plane).max() <= 1  # Y, not luma of upsampled colour


def test_round_trips_and_bytes(tmp_path, pixels):
    chw = read_image_from(tmp_path, pixels)
    write_png(chw, tmp_path / "back.png")
    np.testing.assert_array_equal(read_image(tmp_path / "back.png").array, chw.array)
    data = read_file(tmp_path / "back.png")
    assert data.dtype == np.uint8 and data.ndim == 1
    np.testing.assert_array_equal(decode_image(data).array, chw.array)
    smooth = np.broadcast_to(np.arange(0, 240, 10, dtype=np.uint8), (3, 8, 24)).copy()
    write_jpeg(smooth, tmp_path / "back.jpg", quality=95)
    assert np.abs(read_image(tmp_path / "back.jpg").array.astype(int) - smooth).mean() < 3


def read_image_from(tmp_path, pixels):
    Image.fromarray(pixels).save(tmp_path / "src.png")
    return read_image(tmp_path / "src.png")


def test_errors_name_the_function(tmp_path):
    with pytest.raises(FileNotFoundError, match="read_image: no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"write_png: expected a uint8 Tensor \(C, H, W\)"):
        write_png(np.zeros((3, 4, 4), np.float32), tmp_path / "bad.png")
