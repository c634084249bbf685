"""The work behind ``cnnlab features``: a checkpoint or a (pretrained) zoo model, a data set,
features at a layer saved to ``.npz``, optionally a t-SNE / PCA map."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["features_command", "load_feature_model"]


def load_feature_model(
    checkpoint=None, name=None, pretrained=False, shape=(1, 28, 28), image_size=None
):
    """``(model, normalize)``: a checkpoint (its input normalisation) or the zoo model
    ``name`` for images of ``shape`` (C, H, W) (``pretrained``: ImageNet weights, grey images
    repeated to RGB, inputs resized inside the model to ``image_size``)."""
    if (checkpoint is None) == (name is None):
        raise ValueError("give a CHECKPOINT or --model NAME (not both)")
    if checkpoint is not None:
        from cnnlab.models.loading import open_model

        info = open_model(checkpoint)
        return info.model, info.normalize
    from cnnlab import models

    options = {}
    if models.accepts(name, "image_size") and image_size:
        options["image_size"] = int(image_size)
    if pretrained and shape[0] == 1 and models.accepts(name, "grey"):
        options.update(grey="repeat", in_channels=1)
    if not pretrained:
        options["in_channels"] = int(shape[0])
        if models.accepts(name, "input_size") and shape[1] == shape[2]:
            options["input_size"] = int(shape[1])
    return models.create(name, pretrained=pretrained, **options).eval(), None


def features_command(
    checkpoint=None,
    model: str | None = None,
    pretrained: bool = False,
    data: str = "fashion-mnist",
    split: str = "test",
    out="features.npz",
    layer: str | None = None,
    image_size: int | None = None,
    limit: int | None = None,
    batch_size: int = 64,
    tsne=None,
    tsne_points: int = 2000,
    root=None,
    progress: bool = True,
) -> dict:
    """Extract features of ``data``'s ``split`` images at ``layer`` into ``out`` (``features``
    (N, D), ``labels`` (N,)); with ``tsne`` a PNG map of the first ``tsne_points``.
    Returns what was done (paths, shape, images/s)."""
    from cnnlab.train import recipes
    from cnnlab.transfer.embedding import embed_2d, plot_embedding
    from cnnlab.transfer.features import features

    if split not in ("train", "test"):
        raise ValueError(f"--split must be train or test, got {split!r}")
    train_ds, test_ds = recipes.load_datasets(data, root)
    ds = train_ds if split == "train" else test_ds
    n = min(int(limit), len(ds)) if limit else len(ds)
    got = ds.get_batch(np.arange(n)) if hasattr(ds, "get_batch") else None
    if got is None:
        pairs = [ds[i] for i in range(n)]
        got = np.stack([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    x, y = np.asarray(got[0], np.float32), np.asarray(got[1], np.int64)
    net, norm = load_feature_model(checkpoint, model, pretrained, x.shape[1:], image_size)
    fed = x
    if norm is not None:
        mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in norm)
        fed = (x - mean) / std
    start = time.perf_counter()
    f, labels = features(net, (fed, y), layer=layer, batch_size=batch_size, progress=progress)
    wall = time.perf_counter() - start
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, features=f, labels=labels)
    result = {"out": str(out), "shape": list(f.shape), "images_per_s": round(n / wall, 1)}
    if tsne:
        m = min(int(tsne_points), len(f))
        points, how = embed_2d(f[:m])
        classes = list(getattr(ds, "classes", None) or []) or None
        title = f"{checkpoint or model}: {how} of {m} {data} {split} features"
        result["map"] = str(plot_embedding(points, labels[:m], tsne, x[:m], classes, title))
        result["map_method"] = how
    return result
