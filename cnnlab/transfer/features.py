"""Features of a data set at a layer of a network: the input of the "CNN features
off-the-shelf" baseline (Razavian et al. 2014), of the linear probe, kNN and t-SNE.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["batches", "extract", "features"]


def batches(data, batch_size: int, indices=None):
    """``(images, labels)`` NumPy batches of ``data`` (a Dataset, or an ``(images, labels)``
    pair of arrays), in order, over ``indices`` (default: all)."""
    if int(batch_size) < 1:
        raise ValueError(f"features: batch_size must be at least 1, got {batch_size}")
    if isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = np.asarray(data[0]), np.asarray(data[1])
        if len(images) != len(labels):
            raise ValueError(f"features: {len(images)} images but {len(labels)} labels")
        n = len(images)
    else:
        images, labels, n = None, None, len(data)
    order = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64)
    for start in range(0, len(order), int(batch_size)):
        idx = order[start : start + int(batch_size)]
        if images is not None:
            yield images[idx].astype(np.float32), labels[idx].astype(np.int64)
            continue
        got = data.get_batch(idx) if hasattr(data, "get_batch") else None
        if got is None:
            pairs = [data[int(i)] for i in idx]
            got = np.stack([np.asarray(p[0]) for p in pairs]), np.array([p[1] for p in pairs])
        yield np.asarray(got[0], np.float32), np.asarray(got[1], np.int64)


def _hooks(model, layers):
    """Forward hooks that keep each layer's output (None: the head's input), flattened."""
    from cnnlab.nn.freeze import head_name

    named = dict(model.named_modules())
    kept, handles = {}, []
    for layer in layers:
        if layer is None:
            head = named[head_name(model)]

            def pre(module, inputs, key=None):
                kept[key] = inputs[0].array.reshape(len(inputs[0].array), -1)

            handles.append(head.register_forward_pre_hook(pre))
            continue
        if layer not in named or not layer:
            tops = ", ".join(n for n in named if n and "." not in n)
            raise ValueError(
                f"features: model {type(model).__name__} has no layer {layer!r}; its top-level "
                f"layers: {tops} (names as in model.named_modules())"
            )

        def post(module, inputs, output, key=layer):
            kept[key] = output.array.reshape(len(output.array), -1)

        handles.append(named[layer].register_forward_hook(post))
    return kept, handles


def extract(
    model,
    data,
    layers=(None,),
    batch_size: int = 256,
    indices=None,
    progress: bool = True,
    desc: str = "features",
) -> tuple[dict, np.ndarray]:
    """Features at several layers in one pass: ``({layer: (N, D_layer)}, labels (N,))``.

    A copy of the model runs in eval mode under ``no_grad``, batch norm folded into its
    convolutions; the model itself is not changed.
    """
    import copy

    from tqdm.auto import tqdm

    import cnnlab
    from cnnlab import backend

    layers = list(layers)
    # a copy with batch norm folded into the convolutions (cnnlab.nn.fusion: the same
    # features up to float rounding, one pass fewer per layer); the hooks go on first, so
    # that a watched layer keeps its own output (fuse leaves hooked layers alone)
    model = copy.deepcopy(model).eval()
    kept, handles = _hooks(model, layers)
    model.fuse()
    out = {layer: [] for layer in layers}
    labels = []
    whole = len(data[0]) if isinstance(data, (tuple, list)) else len(data)
    n = len(indices) if indices is not None else whole
    bar = tqdm(total=n, desc=desc, unit="img", disable=not progress, file=sys.stderr)
    try:
        with cnnlab.no_grad():
            for x, y in batches(data, batch_size, indices):
                model(cnnlab.tensor(x))
                for layer in layers:
                    out[layer].append(np.asarray(backend.to_numpy(kept[layer]), np.float32))
                labels.append(y)
                bar.update(len(y))
    finally:
        bar.close()
        for h in handles:
            h.remove()
    labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    feats = {k: np.concatenate(v) if v else np.zeros((0, 0), np.float32) for k, v in out.items()}
    return feats, labels


def features(
    model, data, layer: str | None = None, batch_size: int = 256, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Features of every image of ``data`` at ``layer`` of ``model``, with their labels.

    Args:
        model: a ``cnnlab.nn.Module`` (run in eval mode, without gradients).
        data: a Dataset yielding ``(image, label)`` (its transform applied), or an
            ``(images, labels)`` pair of arrays.
        layer: a name of ``model.named_modules()`` whose output is taken (flattened); None
            (default): the input of the classifier (the last ``Linear``), the "off-the-shelf"
            features (1280 numbers per image for EfficientNet-Lite0).
        batch_size: images per forward pass.
        progress: show a tqdm bar (images).

    Shape:
        - returns ``(features (N, D) float32, labels (N,) int64)``.
    """
    feats, labels = extract(model, data, (layer,), batch_size, progress=progress)
    return feats[layer], labels
