"""Round-trip times of cnnlab serve's API through Flask's test client (no network): prediction
plus every layer's feature maps, and FGSM, for a checkpoint (default: the first in --runs) and
for EfficientNet-Lite0 at 224 px. Median of --repeat calls after one warm-up.

    python -m benchmarks.serve_requests --runs runs [--repeat 10] [--efficientnet]
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import time

import numpy as np
from PIL import Image


def _image(h: int, w: int, channels: int) -> str:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (h, w, channels) if channels == 3 else (h, w), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def bench(client, model_id: str, shape, repeat: int) -> dict:
    img = _image(shape[1], shape[2], shape[0])

    def post(path, **kw):
        r = client.post(path, json={"model": model_id, "image": img, **kw})
        assert r.status_code == 200, r.get_json()

    def predict_and_maps():
        post("/api/predict")
        post("/api/features")

    return {
        "model": model_id,
        "predict+features ms": round(_median_ms(predict_and_maps, repeat), 1),
        "predict ms": round(_median_ms(lambda: post("/api/predict"), repeat), 1),
        "fgsm ms": round(
            _median_ms(lambda: post("/api/attack", method="fgsm", eps=0.03), repeat), 1
        ),
    }


def main(argv=None) -> int:
    from cnnlab.serve.app import create_app
    from cnnlab.serve.lab import Lab

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="runs")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--efficientnet", action="store_true", help="also EfficientNet-Lite0 (224 px)")
    args = p.parse_args(argv)
    lab = Lab(args.runs, allow_zoo=args.efficientnet)
    client = create_app(lab).test_client()
    todo = [(lab.default, (1, 28, 28))]
    if args.efficientnet:
        todo.append(("zoo:efficientnet_lite0:pretrained", (3, 224, 224)))
    for model_id, shape in todo:
        print(bench(client, model_id, shape, args.repeat), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
