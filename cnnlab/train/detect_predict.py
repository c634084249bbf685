"""``cnnlab predict --task detect``: boxes on image files, drawn with their class and score.

The pictures are drawn with matplotlib's object API on an Agg canvas (as
:mod:`cnnlab.train.plots`): each box a frame in its class's colour, its label and score
above it; optional ground-truth boxes as dashed white frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_detections", "predict_detection"]


def _draw(ax, image, det, classes, truth=None, title=None) -> None:
    from cnnlab.data.datasets.scenes import PALETTE

    ax.imshow(np.asarray(image, np.float32).squeeze(), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if truth is not None:
        for x1, y1, x2, y2 in np.asarray(truth, np.float64).reshape(-1, 4):
            ax.add_patch(_rect(ax, x1, y1, x2, y2, "white", "--", 0.8))
    order = np.argsort(np.asarray(det["scores"]), kind="stable")  # the best drawn last, on top
    for (x1, y1, x2, y2), k, s in zip(
        det["boxes"][order], det["labels"][order], det["scores"][order]
    ):
        colour = PALETTE[int(k) % len(PALETTE)]
        ax.add_patch(_rect(ax, x1, y1, x2, y2, colour, "-", 1.5))
        name = str(classes[int(k)]) if classes and 0 <= int(k) < len(classes) else str(int(k))
        ax.text(x1, y1 - 0.8, f"{name} {s:.2f}", color="black", fontsize=6,
                bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.8})  # fmt: skip
    if title:
        ax.set_title(title, fontsize=8)


def _rect(ax, x1, y1, x2, y2, colour, style, width):
    from matplotlib.patches import Rectangle

    # pixel i covers [i - 0.5, i + 0.5] in imshow's coordinates; x2, y2 are exclusive corners
    return Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=colour,
                     linestyle=style, linewidth=width)  # fmt: skip


def plot_detections(images, detections, classes, path, truths=None, titles=None, cols=4):
    """A grid of images with their detections (and ground truth, dashed) saved as a PNG.

    Args:
        images: (N, H, W) or (N, 1, H, W) grey images in [0, 1].
        detections: one dict per image with ``boxes``, ``scores``, ``labels``.
        classes: class names (indices are shown where None).
        path: the PNG to write.
        truths: optional (K, 4) ground-truth boxes per image.
        titles: optional title per image.
        cols: pictures per row.

    Returns the path.
    """
    from cnnlab.train.plots import _figure, _save

    n = len(images)
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    fig = _figure(2.6 * cols, 2.7 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for i, ax in enumerate(axes):
        if i >= n:
            ax.axis("off")
            continue
        truth = None if truths is None else truths[i]
        title = None if titles is None else titles[i]
        _draw(ax, images[i], detections[i], classes, truth, title)
    return _save(fig, path)


def predict_detection(
    checkpoint, images: list, out_dir=None, invert: bool = False, score_threshold: float = 0.3
) -> list:
    """Detect objects in image files with a detector checkpoint; write ``<stem>_detect.png``
    (the image with the boxes, labels and scores) into ``out_dir`` (default: beside it).

    Returns one ``{'image', 'picture', 'detections': [{'label', 'score', 'box'}]}`` per
    image, detections with a score of at least ``score_threshold``.
    """
    import cnnlab
    from cnnlab.images import load_image
    from cnnlab.models.detection import decode_centernet
    from cnnlab.models.loading import open_model

    if not 0.0 <= score_threshold <= 1.0:
        raise ValueError(f"predict --task detect: --score-threshold must be in [0, 1], got "
                         f"{score_threshold}")  # fmt: skip
    info = open_model(checkpoint)
    c, *size = info.shape
    batch = np.stack([load_image(p, tuple(size), channels=c) for p in images])
    batch = 1.0 - batch if invert else batch
    with cnnlab.no_grad():
        out = info.pixel_model()(cnnlab.tensor(batch.astype(np.float32)))
    n_classes = len(info.classes or [])
    if out.ndim != 4 or (n_classes and out.shape[1] != n_classes + 4):
        raise ValueError(
            f"predict --task detect: {checkpoint} is not a detector: its output has shape "
            f"{tuple(out.shape)}, expected (N, classes + 4, h, w)"
        )
    stride = size[0] // out.shape[2]
    results = []
    for path, img, det in zip(images, batch, decode_centernet(out, stride=stride)):
        keep = det["scores"] >= score_threshold
        det = {k: v[keep] for k, v in det.items()}
        folder = Path(out_dir) if out_dir is not None else Path(path).parent
        png = plot_detections([img], [det], info.classes, folder / f"{Path(path).stem}_detect.png",
                              titles=[Path(path).name], cols=1)  # fmt: skip
        found = [
            {
                "label": info.label(k),
                "score": round(float(s), 4),
                "box": [round(float(v), 1) for v in b],
            }  # fmt: skip
            for b, s, k in zip(det["boxes"], det["scores"], det["labels"])
        ]
        results.append({"image": str(path), "picture": str(png), "detections": found})
    return results
