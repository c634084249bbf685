"""The browser lab's routes (Flask): each parses its request, calls :mod:`cnnlab.serve.api`
under the lab's lock and returns JSON; the page in ``static/`` uses the same API.

API (JSON in and out: a POST's body must be ``application/json``; ``image`` is a data URL or
base64 of any image file; ``model`` is an id from ``GET /api/models``, default the server's):

- ``GET  /api/models``                      the choices and the default id
- ``GET  /api/model?model=ID``              input shape, classes, layers (summary rows)
- ``GET  /api/test-image?model=ID&index=I`` a test-set image (PNG data URL) and its label
- ``GET  /api/filters?model=ID&layer=L``    a conv layer's kernels as tiles
- ``GET  /api/top-images?model=ID&layer=L&channel=C&k=8&limit=1000``  the test images
  that excite a channel most
- ``POST /api/predict``    ``{image, topk}``: top-k classes, the converted input (classifiers)
- ``POST /api/scene``      ``{image}``: what a segmenter (detector, captioner) sees: its view
  by the model's task (:mod:`cnnlab.serve.scene`)
- ``POST /api/features``   ``{image, max_channels}``: every layer's maps as tiles
- ``POST /api/unit``       ``{image, layer, channel, row, col}``: value and receptive field
- ``POST /api/arithmetic`` ``{image, channel, row, col}``: window x filter + bias (first conv)
- ``POST /api/explain``    ``{image, method, target}``: map and overlay
- ``POST /api/attack``     ``{image, method, eps, steps, target}``: adversarial image, new top-k
- ``POST /api/class-model`` ``{target, steps}``: starts a job, returns ``{job}`` (409 while
  another job runs; the job works on its own copy of the model, so requests go on)
- ``GET  /api/jobs/JOB``    its state (running, done, cancelled, error), progress and result
- ``POST /api/jobs/JOB/cancel``

Errors are ``{"error": message}`` with status 400 (bad input), 403 (refused by
:mod:`cnnlab.serve.guard`: host, origin or token), 404, 409 (a job is running), 413 (too
large), 415 (not JSON) or 500 (a bug: the message says only that; the server's log has the
traceback).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from cnnlab.serve import api, params
from cnnlab.serve.encode import MAX_BYTES, BadInput
from cnnlab.serve.guard import Guard
from cnnlab.serve.inside import MAX_CHANNELS, MAX_SEARCH
from cnnlab.serve.jobs import Busy, Jobs
from cnnlab.serve.params import NotJSON, integer, number, text
from cnnlab.serve.scene import scene as scene_view

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
BIG = 10**9  # indices beyond this are refused as such (the model's own range is checked later)


def _image(m, p: dict):
    data = p.get("image")
    if data is None:
        raise BadInput("image: missing (send a data URL in 'image')")
    invert = p.get("invert", False)
    if not isinstance(invert, bool):
        raise BadInput(f"invert: expected true or false, got {invert!r:.40}")
    return api.read_image(m, data, invert=invert)


def _unit_args(p: dict) -> tuple:
    return tuple(integer(p, k, 0, 0, BIG) for k in ("channel", "row", "col"))


def create_app(lab, guard: Guard | None = None) -> Flask:
    """The Flask application serving ``lab`` (a :class:`cnnlab.serve.lab.Lab`; see the module
    docstring for the API), every request checked by ``guard`` (default: loopback, no token).
    """
    app = Flask(__name__, static_folder=None)
    jobs = Jobs()
    # base64 makes an upload 4/3 larger; the JSON around it is small
    app.config["MAX_CONTENT_LENGTH"] = MAX_BYTES * 4 // 3 + 64 * 1024
    (guard or Guard()).install(app)

    @app.errorhandler(BadInput)
    def bad_input(e):
        return jsonify(error=str(e)), 415 if isinstance(e, NotJSON) else 400

    @app.errorhandler(Busy)
    def busy(e):
        return jsonify(error=str(e)), 409

    @app.errorhandler(HTTPException)
    def http_error(e):
        msg = e.description
        if e.code == 413:
            msg = f"the request is too large (at most {MAX_BYTES} bytes of image)"
        return jsonify(error=msg), e.code

    @app.errorhandler(Exception)
    def server_error(e):
        app.logger.exception("request failed")
        return jsonify(error="internal error (the server's log has the details)"), 500

    def _params() -> dict:
        return params.body(request)

    @app.get("/")
    def index():
        return send_from_directory(STATIC, "index.html")

    @app.get("/favicon.ico")
    def favicon():
        return "", 204  # none: the browser's request is answered, not logged as an error

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
            return jsonify(api.test_image(m, integer(p, "index", 0, -BIG, BIG)))

    @app.get("/api/filters")
    def filters():
        p = _params()
        with lab.use(p.get("model")) as m:
            return jsonify(api.filters(m, params.layer(p)))

    @app.get("/api/top-images")
    def top_images():
        p = _params()
        with lab.use(p.get("model")) as m:
            args = (
                params.layer(p),
                integer(p, "channel", 0, 0, BIG),
                integer(p, "k", 8, 1, 32),
                integer(p, "limit", 1000, 1, MAX_SEARCH),
            )
            return jsonify(api.top_images(m, *args))

    @app.post("/api/predict")
    def predict():
        p = _params()
        with lab.use(p.get("model")) as m:
            return jsonify(api.predict(m, _image(m, p), integer(p, "topk", 5, 1, 1000)))

    @app.post("/api/scene")
    def scene():
        p = _params()
        with lab.use(p.get("model")) as m:
            return jsonify(scene_view(m, _image(m, p)))

    @app.post("/api/features")
    def features():
        p = _params()
        max_channels = integer(p, "max_channels", MAX_CHANNELS, 1, 512)
        with lab.use(p.get("model")) as m:
            return jsonify(api.features(m, _image(m, p), max_channels))

    @app.post("/api/unit")
    def unit():
        p = _params()
        with lab.use(p.get("model")) as m:
            x = _image(m, p)
            return jsonify(api.unit(m, x, params.layer(p), *_unit_args(p)))

    @app.post("/api/arithmetic")
    def arithmetic():
        p = _params()
        with lab.use(p.get("model")) as m:
            return jsonify(api.arithmetic(m, _image(m, p), *_unit_args(p)))

    @app.post("/api/explain")
    def explain():
        p = _params()
        with lab.use(p.get("model")) as m:
            x = _image(m, p)
            return jsonify(api.explain(m, x, text(p, "method", "saliency"), p.get("target")))

    @app.post("/api/attack")
    def attack():
        p = _params()
        method = text(p, "method", "fgsm")
        eps = number(p, "eps", 0.05, 0.0, 1.0)
        steps = integer(p, "steps", 10, 1, api.MAX_PGD_STEPS)
        with lab.use(p.get("model")) as m:
            x = _image(m, p)
            return jsonify(api.attack(m, x, method, eps, steps, p.get("target")))

    @app.post("/api/class-model")
    def class_model():
        p = _params()
        mid, target = p.get("model"), p.get("target")
        steps = integer(p, "steps", 100, 1, api.MAX_CLASS_MODEL_STEPS)
        with lab.use(mid) as m:  # check the request now, not in the job
            api.check_classifier(m, "class-model")
            if api.target_class(m, target) is None:
                raise BadInput("target: give the class to synthesise")
        jobs.check_idle()
        mine = lab.copy(mid)  # the job's own model: hooks and modes of requests cannot reach it

        def work(progress):
            try:
                return api.class_model(mine, target, steps, progress)
            finally:
                lab.release(mine)

        try:
            return jsonify(job=jobs.start(work))
        except Busy:
            lab.release(mine)
            raise

    def _job(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise BadInput(f"job: unknown id {job_id!r:.40}")
        return job

    @app.get("/api/jobs/<job_id>")
    def job_status(job_id):
        return jsonify(_job(job_id).status())

    @app.post("/api/jobs/<job_id>/cancel")
    def job_cancel(job_id):
        job = _job(job_id)
        job.cancel.set()
        return jsonify(job.status())

    return app
