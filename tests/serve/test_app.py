"""The routes through Flask's test client: every endpoint's keys, errors as JSON with a
message (and the server still answering afterwards), the size limit and the offline page."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.serve.encode import MAX_BYTES

STATIC = Path(__file__).parents[2] / "cnnlab" / "serve" / "static"


@pytest.fixture()
def image() -> str:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)).save(
        buf, format="PNG"
    )
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def ok(resp) -> dict:
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_models_and_model(client):
    c = ok(client.get("/api/models"))
    assert c["default"] == c["models"][0]["id"] and {"id", "label", "kind"} <= set(c["models"][0])
    d = ok(client.get("/api/model"))
    assert d["input_shape"] == [1, 28, 28] and d["layers"][0]["rf_size"] == [5.0, 5.0]
    z = ok(client.get("/api/model", query_string={"model": "zoo:fashion_cnn"}))
    assert z["model"] == "FashionCNN" and z["has_test_set"] is False


@pytest.mark.parametrize(
    "path, body, keys",
    [
        ("/api/predict", {"topk": 3}, {"top", "input"}),
        ("/api/features", {"max_channels": 2}, {"layers"}),
        ("/api/unit", {"layer": 1, "channel": 2, "row": 3, "col": 4}, {"value", "rf", "name"}),
        ("/api/arithmetic", {"channel": 1, "row": 2, "col": 3}, {"window", "weight", "bias"}),
        ("/api/explain", {"method": "gradcam", "target": 4}, {"map", "overlay", "target"}),
        ("/api/attack", {"method": "pgd", "eps": 0.05, "steps": 2}, {"adversarial", "top"}),
    ],
)
def test_post_endpoints(client, image, path, body, keys):
    j = ok(client.post(path, json={"image": image, **body}))
    assert keys <= set(j)


def test_form_and_multipart_posts_are_refused(client, image):
    # what a page on another site can send without a preflight: never accepted
    raw = base64.b64decode(image.split(",", 1)[1])
    data = {"image": (io.BytesIO(raw), "x.png"), "topk": "2"}
    r = client.post("/api/predict", data=data, content_type="multipart/form-data")
    assert r.status_code == 415 and "JSON" in r.get_json()["error"]
    r = client.post("/api/class-model", data={"target": "1"})
    assert r.status_code == 415 and "JSON" in r.get_json()["error"]
    r = client.post("/api/predict", data='{"image": 1}', content_type="text/plain")
    assert r.status_code == 415


def test_get_endpoints(client):
    j = ok(client.get("/api/filters", query_string={"layer": 0}))
    assert len(j["tiles"]) == 6
    r = client.get("/api/test-image", query_string={"index": 3})
    assert r.status_code in (200, 400)  # 400 (with a message) where Fashion-MNIST is missing
    assert {"image", "label"} <= set(r.get_json()) or "error" in r.get_json()
    r = client.get("/api/top-images", query_string={"layer": 0, "channel": 1, "limit": 10})
    assert r.status_code in (200, 400)
    assert len(r.get_json().get("images", [])) == 8 or "error" in r.get_json()


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("image", "data:image/png;base64," + base64.b64encode(b"GIF? no").decode(), "not an image"),
        ("image", None, "missing"),
        ("image", 3, "expected a data URL"),
        ("model", "run:/etc/passwd", "unknown id"),
        ("topk", "many", "topk"),
    ],
)
def test_bad_requests_are_json_and_the_server_goes_on(client, image, field, value, match):
    payload = {"image": image, field: value}
    if value is None:
        del payload[field]
    r = client.post("/api/predict", json=payload)
    assert r.status_code == 400 and re.search(match, r.get_json()["error"])
    assert ok(client.post("/api/predict", json={"image": image}))["top"]


def test_too_large_request_is_413_json(client, image):
    r = client.post("/api/predict", json={"image": "A" * (MAX_BYTES * 4 // 3 + 70 * 1024)})
    assert r.status_code == 413 and "too large" in r.get_json()["error"]
    assert ok(client.post("/api/predict", json={"image": image}))["top"]


def test_unknown_route_and_non_json_body(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "error" in r.get_json()
    r = client.post("/api/predict", data="[1, 2]", content_type="application/json")
    assert r.status_code == 400 and "JSON object" in r.get_json()["error"]


def test_page_and_static_files_load_nothing_from_outside(client):
    page = client.get("/")
    assert page.status_code == 200 and b"/static/lab.js" in page.data
    for name in ("index.html", "lab.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
        text = (STATIC / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), name


def _wait(client, job, timeout=60):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        st = ok(client.get(f"/api/jobs/{job}"))
        if st["state"] != "running":
            return st
        time.sleep(0.05)
    raise AssertionError(f"job {job} still running after {timeout} s")


def test_class_model_job_reports_progress_and_result(client):
    job = ok(client.post("/api/class-model", json={"target": 3, "steps": 5}))["job"]
    st = _wait(client, job)
    assert st["state"] == "done" and st["done"] == st["total"] == 5
    assert st["result"]["class"] == "Dress" and 0 <= st["result"]["probability"] <= 1


def test_class_model_job_can_be_cancelled(client):
    job = ok(client.post("/api/class-model", json={"target": 1, "steps": 500}))["job"]
    ok(client.post(f"/api/jobs/{job}/cancel", json={}))
    st = _wait(client, job)
    assert st["state"] == "cancelled" and st["done"] < 500 and "result" not in st


def test_class_model_bad_requests(client):
    r = client.post("/api/class-model", json={"target": 10})
    assert r.status_code == 400 and "class must be in" in r.get_json()["error"]
    r = client.get("/api/jobs/nope")
    assert r.status_code == 400 and "unknown id" in r.get_json()["error"]
