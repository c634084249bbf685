"""The one image pipeline: colour rules, resize + centre crop against independent references
(PIL directly, a NumPy antialiased-bilinear written here, and PyTorch's interpolate)."""

import io

import numpy as np
import pytest
from PIL import Image

from cnnlab.images import center_crop, load_image, read_image, resize_shorter
from tests.helpers import requires_torch, seeded, torch


def _rgb(h, w, seed=0):
    return (seeded(seed).random((h, w, 3)) * 255).astype(np.uint8)


def _save(tmp_path, im, name):
    p = tmp_path / name
    im.save(p)
    return p


def _triangle_resize(a, nh, nw):
    """Antialiased bilinear resize of (H, W) in float64 (PIL's and torch's rule): each output
    pixel is a triangle-weighted mean whose support widens by the shrink factor."""

    def matrix(n_in, n_out):
        scale = n_in / n_out
        support = max(scale, 1.0)
        m = np.zeros((n_out, n_in))
        for i in range(n_out):
            centre = (i + 0.5) * scale
            lo, hi = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), n_in)
            x = np.arange(lo, hi)
            wts = np.maximum(0.0, 1.0 - np.abs((x - centre + 0.5) / support))
            m[i, lo:hi] = wts / wts.sum()
        return m

    return matrix(a.shape[0], nh) @ a @ matrix(a.shape[1], nw).T


@pytest.mark.parametrize("h, w, size", [(37, 53, 28), (100, 64, 20), (15, 17, 28), (9, 9, 4)])
def test_resize_shorter_matches_a_numpy_antialiased_bilinear(h, w, size):
    a = seeded(1).random((h, w, 2)).astype(np.float32)
    out = resize_shorter(a, size)
    nh, nw = (size, int(size * w / h)) if h <= w else (int(size * h / w), size)
    assert out.shape == (nh, nw, 2)
    for c in range(2):
        ref = _triangle_resize(a[..., c].astype(np.float64), nh, nw)
        np.testing.assert_allclose(out[..., c], ref, atol=2e-5)


@requires_torch
@pytest.mark.parametrize("h, w, size", [(37, 53, 28), (64, 100, 20), (15, 17, 28)])
def test_resize_shorter_matches_torch_interpolate_antialias(h, w, size):
    a = seeded(2).random((h, w, 3)).astype(np.float32)
    out = resize_shorter(a, size)
    x = torch.tensor(a).permute(2, 0, 1)[None]
    ref = torch.nn.functional.interpolate(
        x, size=out.shape[:2], mode="bilinear", antialias=True, align_corners=False
    )
    np.testing.assert_allclose(out, ref[0].permute(1, 2, 0).numpy(), atol=1e-5)


@pytest.mark.parametrize("h, w", [(31, 47), (47, 31), (40, 40), (29, 30)])
def test_load_image_is_resize_then_centre_crop_as_pil_would(tmp_path, h, w):
    """Reference: PIL's own bilinear resize of the uint8 image and torchvision's crop
    arithmetic written out (PIL rounds to uint8 between passes: within 2/255)."""
    arr = _rgb(h, w, seed=3)
    p = _save(tmp_path, Image.fromarray(arr), "x.png")
    out = load_image(p, 24)
    assert out.shape == (3, 24, 24) and out.dtype == np.float32
    nh, nw = (24, int(24 * w / h)) if h <= w else (int(24 * h / w), 24)
    ref = np.asarray(Image.fromarray(arr).resize((nw, nh), Image.BILINEAR), np.float32) / 255
    top, left = int(round((nh - 24) / 2)), int(round((nw - 24) / 2))
    ref = ref[top : top + 24, left : left + 24].transpose(2, 0, 1)
    np.testing.assert_allclose(out, ref, atol=2.5 / 255)


def test_non_square_target_and_explicit_resize(tmp_path):
    p = _save(tmp_path, Image.fromarray(_rgb(50, 80)), "x.png")
    assert load_image(p, (20, 30)).shape == (3, 20, 30)
    assert load_image(p, 24, resize=32).shape == (3, 24, 24)  # as Resize(32) + CenterCrop(24)


def test_centre_crop_offsets_follow_torchvision():
    a = np.arange(7 * 6).reshape(7, 6, 1)
    np.testing.assert_array_equal(center_crop(a, (4, 3))[..., 0], a[2:6, 2:5, 0])  # round(1.5)=2
    with pytest.raises(ValueError, match="larger than the image"):
        center_crop(a, (8, 3))


def test_grey_from_rgb_is_itu_601_luma():
    arr = _rgb(5, 6, seed=4)
    grey = read_image(Image.fromarray(arr), channels=1)[..., 0]
    ref = (arr.astype(np.float64) @ [0.299, 0.587, 0.114]) / 255
    np.testing.assert_allclose(grey, ref, atol=1e-6)


def test_grey_image_to_rgb_repeats_the_plane():
    arr = (seeded(5).random((6, 7)) * 255).astype(np.uint8)
    rgb = read_image(Image.fromarray(arr, mode="L"), channels=3)
    for c in range(3):
        np.testing.assert_allclose(rgb[..., c], arr / 255.0, atol=1e-7)
    np.testing.assert_allclose(read_image(Image.fromarray(arr), 1)[..., 0], arr / 255.0, atol=1e-7)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 1000, 30000, 65535]], dtype=np.uint16)
    p = _save(tmp_path, Image.fromarray(arr), "g16.png")
    out = read_image(p, channels=1)[..., 0]
    np.testing.assert_allclose(out, arr / 65535.0, atol=1e-6)


def test_rgba_is_composited_onto_the_background():
    arr = np.zeros((2, 2, 4), np.uint8)
    arr[..., 0] = 255  # red
    arr[0, 0, 3], arr[0, 1, 3], arr[1, :, 3] = 255, 0, 128
    out = read_image(Image.fromarray(arr, mode="RGBA"))
    np.testing.assert_allclose(out[0, 0], [1, 0, 0])  # opaque red
    np.testing.assert_allclose(out[0, 1], [1, 1, 1])  # transparent: white
    a = 128 / 255
    np.testing.assert_allclose(out[1, 0], [1, 1 - a, 1 - a], atol=1e-6)
    black = read_image(Image.fromarray(arr, mode="RGBA"), background=0.0)
    np.testing.assert_allclose(black[0, 1], [0, 0, 0])


def test_palette_and_one_bit_images(tmp_path):
    arr = _rgb(8, 9, seed=6)
    pal = Image.fromarray(arr).convert("P", palette=Image.ADAPTIVE, colors=16)
    ref = np.asarray(pal.convert("RGB"), np.float32) / 255
    np.testing.assert_allclose(read_image(_save(tmp_path, pal, "p.png")), ref, atol=1e-6)
    bits = Image.fromarray(arr[..., 0] > 127)
    np.testing.assert_array_equal(read_image(bits, 1)[..., 0], (arr[..., 0] > 127).astype(float))


def test_bytes_file_objects_and_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(_rgb(20, 30)).save(buf, format="JPEG")
    from_bytes = load_image(buf.getvalue(), 16)
    buf.seek(0)
    np.testing.assert_array_equal(load_image(buf, 16), from_bytes)
    assert from_bytes.shape == (3, 16, 16) and 0 <= from_bytes.min() <= from_bytes.max() <= 1


def test_exif_orientation_is_applied(tmp_path):
    arr = _rgb(10, 20, seed=7)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    p = tmp_path / "r.jpg"
    im.save(p, exif=exif, quality=100)
    assert read_image(p).shape == (20, 10, 3)


def test_unreadable_file_names_the_file(tmp_path):
    p = tmp_path / "not.png"
    p.write_bytes(b"nope")
    with pytest.raises(ValueError, match="cannot read image .*not.png"):
        load_image(p, 8)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        read_image(Image.fromarray(_rgb(2, 2)), channels=2)


def test_explain_attack_and_image_folder_read_an_image_the_same_way(tmp_path):
    from cnnlab.attacks.run import load_inputs
    from cnnlab.data.datasets.folder import ImageFolder
    from cnnlab.explain.command import _dataset

    (tmp_path / "cls").mkdir()
    p = _save(tmp_path / "cls", Image.fromarray(_rgb(33, 51, seed=8)), "a.png")
    ref = load_image(p, 28, channels=1)
    np.testing.assert_array_equal(_dataset(None, [p], (1, 28, 28))[0], ref)
    np.testing.assert_array_equal(load_inputs((1, 28, 28), images=[p])[0][0], ref)
    np.testing.assert_array_equal(ImageFolder(tmp_path, grayscale=True, size=28)[0][0], ref)


def test_predict_feeds_the_pipeline_output_to_the_model(tmp_path, monkeypatch):
    import cnnlab
    from cnnlab.models.loading import LoadedModel
    from cnnlab.train import run

    p = _save(tmp_path, Image.fromarray(_rgb(40, 25, seed=9)), "b.png")
    seen = []
    model = cnnlab.models.create("lenet5")
    real_forward = model.forward
    model.forward = lambda x: (seen.append(x.numpy().copy()), real_forward(x))[1]

    info = LoadedModel(model.eval(), (1, 28, 28))
    monkeypatch.setattr("cnnlab.models.loading.open_model", lambda *a: info)
    run.predict_images("unused.safetensors", [p], topk=1)
    np.testing.assert_array_equal(seen[0][0], load_image(p, 28, channels=1))


def _png_header(path, w: int, h: int) -> None:
    """A PNG whose header says ``w`` x ``h`` grey pixels and whose data is one empty chunk:
    a few bytes on disk, gigabytes if anything decoded it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


@pytest.mark.parametrize("side", [10_000, 20_000, 100_000])
def test_huge_images_are_refused_from_the_header_naming_the_file(tmp_path, side):
    import json
    import subprocess
    import sys

    path = tmp_path / f"huge{side}.png"
    _png_header(path, side, side)
    code = (
        "import json, resource, sys\n"
        "from cnnlab.images import load_image\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    load_image(sys.argv[1], (28, 28), channels=1); msg = 'loaded'\n"
        "except ValueError as e:\n    msg = str(e)\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base\n"
        "print(json.dumps([msg, grown * 1024]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    msg, grown = json.loads(done.stdout)
    assert str(path) in msg and "\n" not in msg, msg
    assert "megapixels" in msg or "decompression bomb" in msg, msg
    assert grown < 16 * 1024**2  # before: 1.6 GB for the 10000 x 10000 one, decoded
    assert "Warning" not in done.stderr, done.stderr


def test_the_pixel_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    from cnnlab import images

    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((40, 50), np.uint8)).save(path)
    monkeypatch.setattr(images, "MAX_PIXELS", 1999)
    with pytest.raises(ValueError, match=r"big\.png is 50x40 = 0 megapixels, more than"):
        load_image(path, (28, 28), channels=1)
    monkeypatch.setattr(images, "MAX_PIXELS", 2000)
    assert load_image(path, (28, 28), channels=1).shape == (1, 28, 28)
