"""POST /api/scene and cnnlab.serve.scene: a segmenter's mask, overlay and legend, the
refusals for models of other tasks, and the classifier-only routes refusing a segmenter."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from cnnlab.serve import api, scene
from cnnlab.serve.encode import BadInput


def _png(a: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _pixels(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


@pytest.fixture(scope="module")
def seg_client(seg_lab):
    from cnnlab.serve.app import create_app

    app = create_app(seg_lab)
    app.config["TESTING"] = True
    return app.test_client()


def _cell(row: int, col: int) -> tuple:
    """The pixels of cell (row, col) of an 8x8 grid over a 64x64 image."""
    return slice(8 * row, 8 * row + 8), slice(8 * col, 8 * col + 8)


def _scene_image():
    a = np.zeros((64, 64), np.uint8)
    a[10:30, 8:26] = 220
    a[36:58, 34:60] = 150
    return a


def test_a_segmenters_view_is_its_predicted_mask_with_a_legend(seg_lab):
    with seg_lab.use(None) as m:
        x = api.read_image(m, _png(_scene_image()))
        r = scene.scene(m, x)
        probs = m.info.predict_probs(x[None])[0]
    mask = probs.argmax(0)
    assert r["task"] == "segment" and set(r) >= {"input", "overlay", "mask", "legend"}
    colours = _pixels(r["mask"])
    assert colours.shape == (64, 64, 3) and (colours[mask == 0] == 0).all()
    present = {int(k) for k in np.unique(mask) if k}
    assert {c["index"] for c in r["legend"]} == present and present
    for c in r["legend"]:
        assert c["colour"] == scene.colour(c["index"])
        assert c["fraction"] == pytest.approx((mask == c["index"]).mean(), abs=1e-4)
        on = colours[mask == c["index"]]
        assert (on == [int(c["colour"][i : i + 2], 16) for i in (1, 3, 5)]).all()
    fractions = [c["fraction"] for c in r["legend"]]
    assert fractions == sorted(fractions, reverse=True)
    assert _pixels(r["overlay"]).shape == (64, 64, 3)


def test_the_route_answers_and_classifier_routes_refuse_a_segmenter(seg_client):
    r = seg_client.post("/api/scene", json={"image": _png(_scene_image())})
    assert r.status_code == 200 and r.get_json()["task"] == "segment"
    assert seg_client.get("/api/model").get_json()["task"] == "segment"
    assert len(seg_client.get("/api/model").get_json()["classes"]) == 11
    for path in ("/api/predict", "/api/attack"):
        r = seg_client.post(path, json={"image": _png(_scene_image())})
        assert r.status_code == 400 and "not a classifier" in r.get_json()["error"]
    r = seg_client.post("/api/class-model", json={"target": 1})
    assert r.status_code == 400 and "not a classifier" in r.get_json()["error"]
    r = seg_client.post("/api/explain", json={"image": _png(_scene_image()), "method": "saliency"})
    assert r.status_code == 400 and "explained by gradcam" in r.get_json()["error"]
    r = seg_client.post("/api/scene", json={"image": "data:image/png;base64,AAAA"})
    assert r.status_code == 400  # a bad upload is a 400, and the server goes on
    assert seg_client.post("/api/scene", json={"image": _png(_scene_image())}).status_code == 200


def test_gradcam_of_a_segmenter_is_the_region_cam_of_the_explain_package(seg_lab):
    from cnnlab.explain.segment_cam import segment_grad_cam

    with seg_lab.use(None) as m:
        x = api.read_image(m, _png(_scene_image()))
        e = api.explain(m, x, "gradcam", target=2)
        ref = segment_grad_cam(m.info.model, x, 2, normalize=m.info.normalize)
    assert e["target"] == 2 and e["class"].endswith("1")  # class 2 is the item class 1
    np.testing.assert_allclose(e["values"], ref.map, atol=1e-5)


def test_a_classifier_has_no_scene_view(loaded):
    with pytest.raises(BadInput, match="scenes are shown for segment"):
        scene.scene(loaded, np.zeros((1, 28, 28), np.float32))


def test_a_detectors_view_is_its_decoded_boxes_best_first(lab):
    import cnnlab
    from cnnlab.models.detection import decode_centernet

    with lab.use("zoo:centernet_small") as m:
        x = api.read_image(m, _png(_scene_image()))
        r = scene.scene(m, x)
        with cnnlab.no_grad():
            out = m.info.model(cnnlab.tensor(x[None]))
    det = decode_centernet(out, stride=4)[0]
    keep = det["scores"] >= scene.SCORE_THRESHOLD
    assert r["task"] == "detect" and len(r["boxes"]) == min(int(keep.sum()), scene.MAX_BOXES)
    scores = [b["score"] for b in r["boxes"]]
    assert scores == sorted(scores, reverse=True) and min(scores, default=1) >= 0.3
    for b, box, k in zip(r["boxes"], det["boxes"][keep], det["labels"][keep]):
        assert b["box"] == pytest.approx(box.tolist(), abs=0.06) and b["index"] == k
        assert b["colour"] == scene.colour(k + 1)  # the class's colour in the scene masks


def test_a_captioners_view_is_its_beam_caption_with_a_map_per_word(cap_lab):
    from cnnlab.data.captions import END
    from cnnlab.models.caption_decode import beam_search

    with cap_lab.use(None) as m:
        x = api.read_image(m, _png(_scene_image()))
        r = scene.scene(m, x)
        words = m.info.config["words"]
        tokens, alphas, _ = beam_search(m.info.model, (x[None] - 0.1) / 0.2, 2, 4)  # run's beam
    row = list(tokens[0])
    n = row.index(END) if END in row else 4
    assert r["task"] == "caption" and r["beam"] == 2
    assert r["words"] == [words[t] for t in row[:n]]
    assert len(r["attention"]) == min(n + 1, 4)  # <end>'s map too, when it was written
    for a, url in zip(alphas[0], r["attention"]):
        pic = _pixels(url).astype(np.float64)
        assert pic.shape == (64, 64, 3)
        # each weight covers its 8x8 cell: the least-weighted cell shows the image alone, the
        # most-weighted one half the image and half jet's top colour (0.5, 0, 0)
        lo, hi = (divmod(int(k), 8) for k in (a.argmin(), a.argmax()))
        grey = 255 * x[0][_cell(*lo)][..., None]
        np.testing.assert_allclose(pic[_cell(*lo)], np.repeat(grey, 3, axis=2), atol=1)
        want = 255 * (0.5 * x[0][_cell(*hi)][..., None] + 0.5 * np.array([0.5, 0.0, 0.0]))
        np.testing.assert_allclose(pic[_cell(*hi)], want, atol=1)


def test_a_captioner_without_attention_has_no_maps_and_shows_its_encoder(cap_lab):
    with cap_lab.use("zoo:show_tell") as m:
        r = scene.scene(m, np.zeros((1, 64, 64), np.float32))
        d = api.describe(m)
        names = [r.name for r in m.rows]
    assert r["attention"] == [] and len(r["words"]) <= 5 and r["beam"] == 1
    assert all(w in d["classes"] for w in r["words"]) and len(d["classes"]) == 10
    assert names and all(not n.startswith(("lstm", "fc", "embed")) for n in names)
    assert d["layers"][-1]["output_shape"] == [128, 8, 8]  # the encoder's grid


def test_the_catalogue_lists_captioners_and_classifier_routes_refuse_them(cap_lab):
    from cnnlab.serve.app import create_app

    app = create_app(cap_lab)
    app.config["TESTING"] = True
    client = app.test_client()
    tasks = {c["id"]: c["task"] for c in client.get("/api/models").get_json()["models"]}
    assert tasks[cap_lab.default] == "caption" and cap_lab.default.startswith("run:")
    assert tasks["zoo:show_attend_tell"] == tasks["zoo:show_tell"] == "caption"
    image = _png(_scene_image())
    r = client.post("/api/scene", json={"image": image})
    assert r.status_code == 200 and len(r.get_json()["attention"]) >= 1
    assert client.post("/api/features", json={"image": image}).status_code == 200
    asks = {"/api/predict": {}, "/api/attack": {"method": "fgsm", "eps": 0.1}}
    asks["/api/explain"] = {"method": "saliency"}
    for path, ask in asks.items():
        r = client.post(path, json={"image": image, **ask})
        assert r.status_code == 400 and "not a classifier" in r.get_json()["error"], path


def test_a_captioners_test_items_carry_their_true_caption(cap_lab):
    image = np.zeros((1, 64, 64), np.float32)
    items = [(image, np.array([1, 3, 12, 2, 0])), (image, np.zeros((64, 64), np.int64))]
    with cap_lab.use(None) as m:
        m.test_set = items  # (image, tokens) as CaptionScenes gives, then a scene's mask
        try:
            words = m.info.config["words"]
            caption = api.test_image(m, 0)
            mask = api.test_image(m, 1)
            top = api.top_images(m, 0, 0, k=2, limit=2)
        finally:
            m.test_set = None
    assert caption["label"] is None and caption["class"] == f"{words[3]} {words[12]}"
    assert mask["label"] is None and mask["class"] is None
    assert sorted(str(i["class"]) for i in top["images"]) == sorted([caption["class"], "None"])
