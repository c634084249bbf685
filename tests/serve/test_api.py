"""cnnlab.serve.api called directly: each result's keys and shapes, agreement with the lab's
packages (predict, summary's receptive fields, explain, attacks) and the bad inputs."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab import explain as ex
from cnnlab.serve import api
from cnnlab.serve.encode import MAX_PIXELS, BadInput


def png_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def decode_png(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


@pytest.fixture()
def photo():
    """A colour image of another size, as users upload: the pipeline makes it 1x28x28."""
    rng = np.random.default_rng(0)
    return png_bytes(rng.integers(0, 256, (40, 53, 3), dtype=np.uint8))


@pytest.fixture()
def x(loaded, photo):
    return api.read_image(loaded, photo)


def test_catalogue_lists_the_run_and_the_zoo(lab):
    ids = [m["id"] for m in lab.catalogue()["models"]]
    assert lab.default == "run:tiny/best.safetensors" == ids[0]
    assert "zoo:fashion_cnn" in ids and "zoo:dcgan_generator" not in ids


def test_describe_has_one_layer_per_summary_row(loaded):
    d = api.describe(loaded)
    rows = cnnlab.summary(loaded.info.model, (1, 28, 28)).rows
    assert d["input_shape"] == [1, 28, 28] and len(d["classes"]) == 10
    assert [L["name"] for L in d["layers"]] == [r.name for r in rows]
    assert [L["rf_size"] for L in d["layers"]] == [list(r.rf_size) for r in rows]
    assert d["layers"][d["first_conv"]]["type"] == "Conv2d"


def test_read_image_is_the_predict_pipeline(loaded, photo):
    from cnnlab.images import load_image

    x = api.read_image(loaded, photo)
    np.testing.assert_array_equal(x, load_image(photo, (28, 28), channels=1))
    url = "data:image/png;base64," + base64.b64encode(photo).decode()
    np.testing.assert_array_equal(api.read_image(loaded, url), x)


def test_predict_equals_cnnlab_predict(loaded, runs_dir, photo, tmp_path):
    from cnnlab.train.run import predict_images

    path = tmp_path / "photo.png"
    path.write_bytes(photo)
    want = predict_images(runs_dir / "tiny" / "best.safetensors", [path], topk=3)[0]["top"]
    got = api.predict(loaded, api.read_image(loaded, photo), topk=3)
    assert [t["class"] for t in got["top"]] == [c for c, _ in want]
    np.testing.assert_allclose([t["p"] for t in got["top"]], [p for _, p in want], rtol=1e-6)
    assert decode_png(got["input"]).shape == (28, 28)


def test_features_give_every_layer_its_maps(loaded, x):
    f = api.features(loaded, x, max_channels=4)
    assert len(f["layers"]) == len(loaded.rows)
    for L, row in zip(f["layers"], loaded.rows):
        assert L["shape"] == list(row.output_shape)
        sprite = decode_png(L["sprite"])
        if len(row.output_shape) == 3:
            c, h, w = row.output_shape
            assert L["channels"] == min(4, c) and L["tile"] == [h, w]
            assert sprite.shape == (L["channels"] * h, w)
        else:
            assert L["channels"] == 1 and sprite.shape == (1, row.output_shape[0])


def test_feature_sprite_holds_each_channel_scaled(loaded, x):
    L = api.features(loaded, x)["layers"][0]
    act = ex.activations(loaded.info.model, x, L["name"], loaded.info.normalize)
    h, w = L["tile"]
    tile = decode_png(L["sprite"])[h : 2 * h] / 255.0  # channel 1
    lo, hi = act[1].min(), act[1].max()
    assert L["ranges"][1] == pytest.approx([lo, hi], rel=1e-6)
    np.testing.assert_allclose(tile, (act[1] - lo) / (hi - lo), atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize("layer_type", ["Conv2d", "MaxPool2d"])
def test_unit_value_and_receptive_field_match_the_packages(loaded, x, layer_type):
    from cnnlab.inspect import analytic_receptive_field

    i = next(k for k, r in enumerate(loaded.rows) if r.type == layer_type and k > 0)
    name = loaded.rows[i].name
    c, h, w = loaded.rows[i].output_shape
    ch, r, q = c - 1, h - 1, w // 2
    u = api.unit(loaded, x, i, ch, r, q)
    act = ex.activations(loaded.info.model, x, name, loaded.info.normalize)
    assert u["value"] == pytest.approx(float(act[ch, r, q]), rel=1e-6, abs=1e-7)
    box = analytic_receptive_field(loaded.info.model, (1, 28, 28), name, (ch, r, q))
    assert (tuple(u["rf"]["rows"]), tuple(u["rf"]["cols"])) == (box["rows"], box["cols"])


def test_first_conv_arithmetic_equals_the_layer_output(loaded, x):
    i = api.first_conv(loaded)
    conv = loaded.modules[i]
    act = ex.activations(loaded.info.model, x, loaded.rows[i].name, loaded.info.normalize)
    for ch, r, q in [(0, 0, 0), (3, 13, 20), (5, 27, 27)]:
        a = api.arithmetic(loaded, x, ch, r, q)
        # a reference written here: the normalised input, zero-padded, times the filter
        xn = (x[0] - 0.2860) / 0.3530
        p = conv.padding if isinstance(conv.padding, int) else conv.padding[0]
        xp = np.pad(xn.astype(np.float64), p)
        k = conv.kernel_size[0]
        window = xp[r : r + k, q : q + k]
        w = conv.weight.numpy()[ch, 0].astype(np.float64)
        np.testing.assert_allclose(np.asarray(a["window"])[0], window, rtol=1e-6, atol=1e-6)
        ref = (window * w).sum() + float(conv.bias.numpy()[ch])
        assert a["value"] == pytest.approx(ref, rel=1e-6, abs=1e-6)
        assert a["value"] == pytest.approx(float(act[ch, r, q]), rel=1e-5, abs=1e-5)
        assert a["activation"] == pytest.approx(float(act[ch, r, q]), rel=1e-6, abs=1e-7)


def test_arithmetic_with_stride_and_colour_input():
    from cnnlab import nn
    from cnnlab.models.loading import LoadedModel as ModelInfo

    cnnlab.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten())
    m = api.Loaded("test", ModelInfo(model.eval(), (3, 9, 9)))
    x = np.random.default_rng(0).random((3, 9, 9)).astype(np.float32)
    out = ex.activations(model, x, "0")
    for ch, r, q in [(0, 0, 0), (2, 4, 4), (3, 1, 3)]:
        a = api.arithmetic(m, x, ch, r, q)
        assert np.asarray(a["window"]).shape == (3, 3, 3)
        assert a["value"] == pytest.approx(float(out[ch, r, q]), rel=1e-5, abs=1e-6)
        assert a["stride"] == [2, 2] and a["padding"] == [1, 1]


def test_filters_are_tiles_of_a_conv_layer(loaded):
    f = api.filters(loaded, api.first_conv(loaded))
    assert len(f["tiles"]) == f["shape"][0] and decode_png(f["tiles"][0]).shape == (5, 5)
    with pytest.raises(BadInput, match="not a Conv2d"):
        api.filters(loaded, api.first_conv(loaded) + 1)


@pytest.mark.parametrize("method", api.EXPLAIN_METHODS)
def test_explain_methods(loaded, x, method):
    e = api.explain(loaded, x, method, target=3)
    assert e["target"] == 3 and e["class"] == "Dress"
    assert decode_png(e["overlay"]).shape == (28, 28, 3)
    assert np.asarray(e["values"]).shape == (28, 28)


def test_saliency_equals_the_explain_package(loaded, x):
    e = api.explain(loaded, x, "saliency")
    want = ex.saliency(loaded.info.model, x, None, loaded.info.normalize)
    assert e["target"] == want.target
    np.testing.assert_allclose(e["values"], want.map, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_attack_stays_inside_eps(loaded, x, method):
    a = api.attack(loaded, x, method, eps=0.1, steps=3, target=2)
    assert a["linf"] <= 0.1 + 1e-6 and a["target"] == 2
    adv = decode_png(a["adversarial"]) / 255.0
    assert np.abs(adv - x[0]).max() <= 0.1 + 1 / 255
    assert len(a["top"]) == 5 and isinstance(a["success"], bool)
    assert not loaded.info.model.training


def test_test_image_is_the_stored_pixels(loaded):
    from cnnlab.data import DatasetError, FashionMNIST

    try:
        ds = FashionMNIST(train=False)
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    t = api.test_image(loaded, 7)
    np.testing.assert_array_equal(decode_png(t["image"]), ds.data[7])
    assert t["label"] == int(ds.targets[7]) and t["n"] == len(ds)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"not an image at all", "not an image"),
        (b"", "empty"),
        ("data:image/png;base64,@@@", "not base64"),
        (png_bytes(np.zeros((1, 1), np.uint8))[:20], "not an image"),
    ],
)
def test_bad_uploads(loaded, data, match):
    with pytest.raises(BadInput, match=match):
        api.read_image(loaded, data)


def test_too_many_pixels_is_refused_before_decoding(loaded):
    side = int(MAX_PIXELS**0.5) + 1
    big = io.BytesIO()
    Image.new("1", (side, side)).save(big, format="PNG")
    with pytest.raises(BadInput, match="too large"):
        api.read_image(loaded, big.getvalue())


def test_elongated_image_is_refused(loaded):
    with pytest.raises(BadInput, match="too elongated"):
        api.read_image(loaded, png_bytes(np.zeros((2, 4000), np.uint8)))
    assert api.read_image(loaded, png_bytes(np.zeros((2, 40), np.uint8))).shape == (1, 28, 28)


def test_bad_requests(lab, loaded, x):
    with pytest.raises(BadInput, match="unknown id"):
        with lab.use("run:../../etc/passwd"):
            pass
    with pytest.raises(BadInput, match="unknown layer"):
        api.unit(loaded, x, "no.such.layer", 0)
    with pytest.raises(BadInput, match="channel must be in"):
        api.unit(loaded, x, 0, 999)
    with pytest.raises(BadInput, match="class must be in"):
        api.explain(loaded, x, "saliency", target=10)
    with pytest.raises(BadInput, match="expected one of"):
        api.explain(loaded, x, "lime")
    with pytest.raises(BadInput, match="eps"):
        api.attack(loaded, x, "fgsm", eps=2.0)


class _ReusedReLU(cnnlab.nn.Module):
    """A module called twice (rows outnumber leaves) after a TensorFlow-'SAME' first conv."""

    def __init__(self):
        from cnnlab import nn
        from cnnlab.models.efficientnet import SameConv2d

        super().__init__()
        self.conv1 = SameConv2d(3, 4, 3, stride=2)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1)
        self.flat = nn.Flatten()

    def forward(self, x):
        return self.flat(self.relu(self.conv2(self.relu(self.conv1(x)))))


def test_rows_of_a_module_called_twice_and_same_padding():
    # regression: rows were matched to leaf modules by position, wrong once a module is
    # called twice; SameConv2d pads in forward (0 on top/left, 1 on bottom/right here)
    from cnnlab.models.loading import LoadedModel as ModelInfo

    cnnlab.manual_seed(2)
    model = _ReusedReLU().eval()
    m = api.Loaded("test", ModelInfo(model, (3, 10, 10)))
    d = api.describe(m)
    assert [L["name"] for L in d["layers"]] == ["conv1", "relu", "conv2", "relu", "flat"]
    assert [L["conv"] for L in d["layers"]] == [True, False, True, False, False]
    assert d["first_conv"] == 0  # a Conv2d subclass counts
    assert api.filters(m, 2)["shape"] == [5, 4, 3, 3]
    x = np.random.default_rng(1).random((3, 10, 10)).astype(np.float32)
    out = ex.activations(model, x, "conv1")
    for ch, r, q in [(0, 0, 0), (3, 4, 4), (1, 4, 0)]:
        a = api.arithmetic(m, x, ch, r, q)
        assert a["padding"] == [0, 0]
        assert a["value"] == pytest.approx(float(out[ch, r, q]), rel=1e-5, abs=1e-6)
    relu2 = api.unit(m, x, 3, 4, 2, 3)  # the second call of the same ReLU
    act = np.maximum(ex.activations(model, x, "conv2"), 0)
    assert relu2["value"] == pytest.approx(float(act[4, 2, 3]), rel=1e-6, abs=1e-7)


def test_top_images_excite_the_channel_most(loaded):
    from cnnlab.data import DatasetError, FashionMNIST

    try:
        ds = FashionMNIST(train=False)
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    t = api.top_images(loaded, 0, 2, k=3, limit=40)
    assert t["searched"] == 40 and len(t["images"]) == 3
    scores = [
        ex.activations(loaded.info.model, ds[i][0], loaded.rows[0].name, loaded.info.normalize)[
            2
        ].max()
        for i in range(40)
    ]
    want = np.argsort(scores)[::-1][:3]
    assert [im["index"] for im in t["images"]] == [int(i) for i in want]
    with pytest.raises(BadInput, match="channel must be in"):
        api.top_images(loaded, 0, 99)


def test_minimal_and_one_pixel_attacks(loaded, x):
    a = api.attack(loaded, x, "one-pixel", eps=0.0)
    assert a["changed_pixels"] <= 1 and len(a["top"]) == 5
    target = (api.predict(loaded, x)["top"][0]["index"] + 1) % 10
    m = api.attack(loaded, x, "minimal", eps=0.0, target=target)
    assert m["success"] and m["top"][0]["index"] == target
    assert m["l2"] > 0 and m["steps"] is None


def test_minimal_is_refused_for_big_inputs():
    from cnnlab import nn
    from cnnlab.models.loading import LoadedModel as ModelInfo

    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    m = api.Loaded("big", ModelInfo(model.eval(), (3, 64, 64)))
    with pytest.raises(BadInput, match="at most 3072 values"):
        api.attack(m, np.zeros((3, 64, 64), np.float32), "minimal", eps=0.0)


def test_class_model_raises_its_class_probability(loaded):
    seen = []
    r = api.class_model(loaded, 6, steps=20, progress=lambda d, t: seen.append((d, t)))
    blank = api.predict(loaded, np.zeros((1, 28, 28), np.float32), topk=10)["top"]
    before = next(t["p"] for t in blank if t["index"] == 6)
    assert r["class"] == "Shirt" and r["probability"] > before
    assert seen[-1] == (20, 20) and decode_png(r["image"]).shape == (28, 28)
    with pytest.raises(BadInput, match="give the class"):
        api.class_model(loaded, None)


@pytest.mark.parametrize("target", [0, 3, 9])
def test_class_model_of_lenet_is_not_a_flat_square(loaded, target):
    # from a flat start LeNet-5's gradient is exactly zero and every class gave a black square
    img = decode_png(api.class_model(loaded, target, steps=3)["image"]).astype(float)
    assert img.std() > 10, img.std()
    with pytest.raises(BadInput, match="give the class"):
        api.class_model(loaded, None)
