"""Bad requests (cnnlab/serve/params.py): each a 400 (415 for a body that is not JSON) with a
message naming the field, never a 500 or a Python error, and the server answers afterwards."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from cnnlab.serve import params
from cnnlab.serve.encode import BadInput


@pytest.fixture(scope="module")
def image() -> str:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _raw(client, path, text):
    return client.post(path, data=text, content_type="application/json")


@pytest.mark.parametrize(
    "path, body, match",
    [
        ("/api/predict", '{"image": "IMG", "topk": 1e309}', "topk: expected an integer"),
        ("/api/attack", '{"image": "IMG", "eps": 1e309}', "eps: expected a finite number"),
        ("/api/attack", '{"image": "IMG", "steps": 1e309}', "steps: expected an integer"),
        ("/api/attack", '{"image": "IMG", "target": 1e309}', "target: expected an integer"),
        ("/api/attack", '{"image": "IMG", "target": true}', "target: expected an integer"),
        ("/api/attack", '{"image": "IMG", "method": ["pgd"]}', "method: expected a string"),
        ("/api/features", '{"image": "IMG", "max_channels": 1e309}', "max_channels"),
        ("/api/unit", '{"image": "IMG", "layer": true}', "layer: expected a layer"),
        ("/api/unit", '{"image": "IMG", "layer": 1, "channel": -1}', "channel: must be"),
        ("/api/unit", '{"image": "IMG", "layer": 1, "row": 2.5}', "row: expected an integer"),
        ("/api/predict", '{"image": "IMG", "model": ["run:x"]}', "model: expected an id"),
        ("/api/predict", '{"image": "IMG", "model": {"a": 1}}', "model: expected an id"),
        ("/api/predict", '{"image": "IMG", "invert": "yes"}', "invert: expected true or false"),
        ("/api/predict", '{"image": ["IMG"]}', "image: expected a data URL"),
        ("/api/predict", '{"image": "IMG", "topk": 10000}', r"topk: must be in \[1, 1000\]"),
        ("/api/class-model", '{"target": 1, "steps": 1e309}', "steps: expected an integer"),
        ("/api/class-model", '{"target": 1, "steps": 0}', "steps: must be"),
        ("/api/class-model", '{"target": "1e309"}', "target: expected an integer"),
        ("/api/predict", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("/api/predict", '{"image": ' + "[" * 50_000, "nested too deeply|not JSON"),
        ("/api/predict", '{"image": "IMG",', "not JSON"),
    ],
)
def test_bad_values_are_400_with_the_field(client, image, path, body, match):
    import re

    r = _raw(client, path, body.replace("IMG", image))
    assert r.status_code == 400, (r.status_code, r.get_data()[:300])
    msg = r.get_json()["error"]
    assert re.search(match, msg), msg
    assert "Traceback" not in msg and "Error" not in msg.split(":")[0]
    assert client.post("/api/predict", json={"image": image}).status_code == 200


def test_get_values_are_checked_too(client):
    r = client.get("/api/filters", query_string={"layer": "true"})
    assert r.status_code == 400 and "layer" in r.get_json()["error"]
    r = client.get("/api/top-images", query_string={"layer": 0, "k": "1e309"})
    assert r.status_code == 400 and "k: expected an integer" in r.get_json()["error"]
    r = client.get("/api/test-image", query_string={"index": "9" * 50})
    assert r.status_code == 400 and "index" in r.get_json()["error"]


def test_a_server_error_says_nothing_of_its_cause(client, monkeypatch):
    from cnnlab.serve import api

    def broken(*a, **k):
        raise KeyError("secret internal detail")

    monkeypatch.setattr(api, "describe", broken)
    r = client.get("/api/model")
    assert r.status_code == 500 and "secret" not in r.get_data(as_text=True)


def test_integer_and_number_readers():
    assert params.integer({"k": "7"}, "k") == 7 and params.integer({"k": 7.0}, "k") == 7
    assert params.integer({}, "k", 3) == 3 and params.number({"x": "0.5"}, "x") == 0.5
    for bad in (True, 1.5, float("inf"), "x", [1], None, "1" * 60):
        with pytest.raises(BadInput, match="k: expected an integer"):
            params.integer({"k": bad}, "k")
    with pytest.raises(BadInput, match=r"k: must be at least 1, got 0"):
        params.integer({"k": 0}, "k", lo=1)
    with pytest.raises(BadInput, match="x: expected a finite number"):
        params.number({"x": "nan"}, "x")
    assert params.layer({"layer": "conv1"}) == "conv1" and params.layer({"layer": "2"}) == 2


VALUES = [None, True, False, 0, -1, 1, 2, 7, 10**30, -(10**30), 0.5, -0.0, 1e308, "", "x",
          "3", "-2", "1e309", "nan", [], [1], {}, {"a": 1}, "conv1", "zoo:none"]  # fmt: skip
FIELDS = {
    "/api/predict": ["topk", "model", "invert"],
    "/api/features": ["max_channels"],
    "/api/unit": ["layer", "channel", "row", "col"],
    "/api/arithmetic": ["channel", "row", "col"],
    "/api/explain": ["method", "target"],
    "/api/attack": ["method", "eps", "steps", "target"],
    "/api/class-model": ["target", "steps"],
}


def _fuzz(client, image, cases: int, seed: int) -> None:
    """Random values in every field of every POST: a 200, 400 or 409, never a 500."""
    rng = np.random.default_rng(seed)
    paths = list(FIELDS)
    for _ in range(cases):
        path = paths[rng.integers(len(paths))]
        body = {"image": image}
        for f in FIELDS[path]:
            if rng.random() < 0.7:
                body[f] = VALUES[rng.integers(len(VALUES))]
        if path == "/api/attack" and body.get("method") not in ("fgsm", None):
            body["method"] = "fgsm"  # keep the work small; the method's own checks are tested
        if path == "/api/explain":
            body["method"] = "saliency"
        r = client.post(path, json=body)
        assert r.status_code in (200, 400, 409), (path, body, r.get_data()[:300])
        if path == "/api/class-model" and r.status_code == 200:
            client.post(f"/api/jobs/{r.get_json()['job']}/cancel", json={})


def test_fuzzed_fields_are_never_a_server_error(client, image):
    _fuzz(client, image, 60, 0)


@pytest.mark.slow
def test_fuzz_many_fields(client, image):
    _fuzz(client, image, 1500, 1)
