"""The browser lab's routes (Flask): each parses its request, calls :mod:`cnnlab.serve.api`
under the lab's lock and returns JSON; the page in ``static/`` uses the same API.

API (JSON in and out; ``image`` is a data URL or base64 of any image file, or a multipart file
field ``image``; ``model`` is an id from ``GET /api/models``, default the server's):

- ``GET  /api/models``                      the choices and the default id
- ``GET  /api/model?model=ID``              input shape, classes, layers (summary rows)
- ``GET  /api/test-image?model=ID&index=I`` a test-set image (PNG data URL) and its label
- ``GET  /api/filters?model=ID&layer=L``    a conv layer's kernels as tiles
- ``GET  /api/top-images?model=ID&layer=L&channel=C&k=8&limit=1000``  the test images
  that excite a channel most
- ``POST /api/predict``    ``{image, topk}``: top-k classes, the converted input
- ``POST /api/features``   ``{image, max_channels}``: every layer's maps as tiles
- ``POST /api/unit``       ``{image, layer, channel, row, col}``: value and receptive field
- ``POST /api/arithmetic`` ``{image, channel, row, col}``: window x filter + bias (first conv)
- ``POST /api/explain``    ``{image, method, target}``: map and overlay
- ``POST /api/attack``     ``{image, method, eps, steps, target}``: adversarial image, new top-k
- ``POST /api/class-model`` ``{target, steps}``: starts a job, returns ``{job}``
- ``GET  /api/jobs/JOB``    its state (running, done, cancelled, error), progress and result
- ``POST /api/jobs/JOB/cancel``

Errors are ``{"error": message}`` with status 400 (bad input), 404, 413 (too large) or 500.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from cnnlab.serve import api
from cnnlab.serve.encode import MAX_BYTES, BadInput
from cnnlab.serve.inside import MAX_CHANNELS
from cnnlab.serve.jobs import Jobs

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"


def _params() -> dict:
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadInput("the request body is not a JSON object")
        return body
    return {**request.args.to_dict(), **request.form.to_dict()}


def _image(m, p: dict):
    f = request.files.get("image")
    data = f.read() if f is not None else p.get("image")
    if data is None:
        raise BadInput("image: missing (send a data URL in 'image' or a file field 'image')")
    return api.read_image(m, data, invert=bool(p.get("invert")))


def _int(p: dict, key: str, default=None) -> int:
    v = p.get(key, default)
    try:
        return int(v)
    except (TypeError, ValueError):
        raise BadInput(f"{key}: expected an integer, got {v!r}") from None


def _float(p: dict, key: str, default=None) -> float:
    v = p.get(key, default)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise BadInput(f"{key}: expected a number, got {v!r}") from None


def create_app(lab: api.Lab) -> Flask:
    """The Flask application serving ``lab`` (see the module docstring for the API)."""
    app = Flask(__name__, static_folder=None)
    jobs = Jobs()
    # base64 makes an upload 4/3 larger; the JSON around it is small
    app.config["MAX_CONTENT_LENGTH"] = MAX_BYTES * 4 // 3 + 64 * 1024

    @app.errorhandler(BadInput)
    def bad_input(e):
        return jsonify(error=str(e)), 400

    @app.errorhandler(HTTPException)
    def http_error(e):
        msg = e.description
        if e.code == 413:
            msg = f"the request is too large (at most {MAX_BYTES} bytes of image)"
        return jsonify(error=msg), e.code

    @app.errorhandler(Exception)
    def server_error(e):
        app.logger.exception("request failed")
        return jsonify(error=f"{type(e).__name__}: {e}"), 500

    @app.get("/")
    def index():
        return send_from_directory(STATIC, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name):
        return send_from_directory(STATIC, name)

    @app.get("/api/models")
    def models():
        return jsonify(lab.catalogue())

    @app.get("/api/model")
    def model():
        with lab.use(request.args.get("model")) as m:
            return jsonify(api.describe(m))

    @app.get("/api/test-image")
    def test_image():
        p = _params()
        with lab.use(p.get("model")) as m:
            return jsonify(api.test_image(m, _int(p, "index", 0)))

    @app.get("/api/filters")
    def filters():
        p = _params()
        with lab.use(p.get("model")) as m:
            return jsonify(api.filters(m, p.get("layer", 0)))

    @app.get("/api/top-images")
    def top_images():
        p = _params()
        with lab.use(p.get("model")) as m:
            args = (
                p.get("layer", 0),
                _int(p, "channel", 0),
                _int(p, "k", 8),
                _int(p, "limit", 1000),
            )
            return jsonify(api.top_images(m, *args))

    @app.post("/api/predict")
    def predict():
        p = _params()
        with lab.use(p.get("model")) as m:
            return jsonify(api.predict(m, _image(m, p), _int(p, "topk", 5)))

    @app.post("/api/features")
    def features():
        p = _params()
        with lab.use(p.get("model")) as m:
            return jsonify(api.features(m, _image(m, p), _int(p, "max_channels", MAX_CHANNELS)))

    @app.post("/api/unit")
    def unit():
        p = _params()
        with lab.use(p.get("model")) as m:
            x = _image(m, p)
            args = (_int(p, "channel", 0), _int(p, "row", 0), _int(p, "col", 0))
            return jsonify(api.unit(m, x, p.get("layer", 0), *args))

    @app.post("/api/arithmetic")
    def arithmetic():
        p = _params()
        with lab.use(p.get("model")) as m:
            x = _image(m, p)
            args = (_int(p, "channel", 0), _int(p, "row", 0), _int(p, "col", 0))
            return jsonify(api.arithmetic(m, x, *args))

    @app.post("/api/explain")
    def explain():
        p = _params()
        with lab.use(p.get("model")) as m:
            x = _image(m, p)
            return jsonify(api.explain(m, x, p.get("method", "saliency"), p.get("target")))

    @app.post("/api/attack")
    def attack():
        p = _params()
        with lab.use(p.get("model")) as m:
            x = _image(m, p)
            eps, steps = _float(p, "eps", 0.05), _int(p, "steps", 10)
            return jsonify(api.attack(m, x, p.get("method", "fgsm"), eps, steps, p.get("target")))

    @app.post("/api/class-model")
    def class_model():
        p = _params()
        mid, target, steps = p.get("model"), p.get("target"), _int(p, "steps", 100)
        with lab.use(mid) as m:  # check the request now, not in the job
            if api.target_class(m, target) is None:
                raise BadInput("target: give the class to synthesise")

        def work(progress):
            with lab.use(mid) as m:
                return api.class_model(m, target, steps, progress)

        return jsonify(job=jobs.start(work))

    @app.get("/api/jobs/<job_id>")
    def job_status(job_id):
        job = jobs.get(job_id)
        if job is None:
            raise BadInput(f"job: unknown id {job_id!r}")
        return jsonify(job.status())

    @app.post("/api/jobs/<job_id>/cancel")
    def job_cancel(job_id):
        job = jobs.get(job_id)
        if job is None:
            raise BadInput(f"job: unknown id {job_id!r}")
        job.cancel.set()
        return jsonify(job.status())

    return app
