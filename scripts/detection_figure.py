"""The detection guide's picture: a trained detector's boxes on the first test scenes.

    python scripts/detection_figure.py RUN [--n 12] [--out docs/detection/test_scenes.png]

Boxes with a score of at least 0.3 are drawn in their class colour with the class and
score; the ground truth is dashed white.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    import cnnlab
    from cnnlab.data import FashionScenes, MNISTScenes
    from cnnlab.models.detection import decode_centernet
    from cnnlab.models.loading import open_model
    from cnnlab.train.detect_predict import plot_detections

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a detector's run directory or checkpoint")
    p.add_argument("--n", type=int, default=12, help="test scenes to draw")
    p.add_argument("--out", default="docs/detection/test_scenes.png")
    args = p.parse_args()
    info = open_model(args.run)
    scenes = (MNISTScenes if info.data == "mnist-scenes" else FashionScenes)(train=False)
    images = scenes.data[: args.n][:, None].astype(np.float32) / 255.0
    with cnnlab.no_grad():
        out = info.pixel_model()(cnnlab.tensor(images))
    dets = []
    for det in decode_centernet(out):
        keep = det["scores"] >= 0.3
        dets.append({k: v[keep] for k, v in det.items()})
    truths = [scenes.items(i)[0] for i in range(args.n)]
    titles = [" ".join(scenes.caption(i)) for i in range(args.n)]
    print(plot_detections(images, dets, info.classes, args.out, truths, titles, cols=4))


if __name__ == "__main__":
    main()
