"""The picture ``cnnlab eval`` writes for a segmenter: test scenes with their true masks
above the predicted ones, each mask in the scenes' class colours over its image, and a
legend of the class colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import cnnlab
from cnnlab import backend
from cnnlab.autograd import no_grad

__all__ = ["plot_segment_examples"]


def plot_segment_examples(model, dataset, classes: list, path, n: int = 8) -> Path:
    """Write the first ``n`` scenes of ``dataset`` (``(image, mask)`` items, the image as the
    model takes it) as a two-row PNG at ``path``: true masks, then predicted masks (titled
    with the scene's mean IoU over its item classes, true or predicted). ``classes`` names
    the mask values (0: background)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from cnnlab.data.datasets.scenes import PALETTE, scene_picture

    n = min(int(n), len(dataset))
    if n < 1:
        raise ValueError(f"plot_segment_examples: the data set is empty, got {len(dataset)} items")
    items = [dataset[i] for i in range(n)]
    x = np.stack([np.asarray(getattr(img, "array", img), np.float32) for img, _ in items])
    truth = np.stack([np.asarray(getattr(m, "array", m)) for _, m in items])
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            pred = backend.to_numpy(model(cnnlab.tensor(x)).array)
    finally:
        model.train(was_training)
    pred = pred.argmax(axis=1)
    raw = getattr(getattr(dataset, "dataset", dataset), "data", None)
    fig = Figure(figsize=(1.6 * n, 3.9), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        # the stored pixels where there are some (the model's input may be normalised)
        img = raw[i] / 255.0 if isinstance(raw, np.ndarray) and raw.ndim == 3 else x[i, 0]
        for row, (mask, title) in enumerate(
            ((truth[i], "truth"), (pred[i], f"predicted, IoU {_scene_iou(truth[i], pred[i]):.2f}"))
        ):
            ax = axes[row, i]
            ax.imshow(scene_picture(img, mask).array, interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    handles = [
        Patch(color=PALETTE[k % len(PALETTE)], label=str(name))
        for k, name in enumerate(classes[1:])
    ]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 10), fontsize=7)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _scene_iou(truth: np.ndarray, pred: np.ndarray) -> float:
    """Mean IoU of one scene over the item classes in its truth or its prediction (1.0 for
    an empty scene predicted empty)."""
    found = [k for k in np.union1d(np.unique(truth), np.unique(pred)) if k > 0]
    if not found:
        return 1.0
    ious = [np.sum((truth == k) & (pred == k)) / np.sum((truth == k) | (pred == k)) for k in found]
    return float(np.mean(ious))
