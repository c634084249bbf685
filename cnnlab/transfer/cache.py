"""Features extracted once and kept on disk (``.npz``), so that the probe and kNN points of
every label count reuse one pass over the data set. Extraction writes one file per chunk of
images as it goes, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from cnnlab.transfer.features import extract

__all__ = ["cached_extract", "layer_key"]


def layer_key(layer: str | None) -> str:
    """The npz key of a layer's features (None: the classifier's input, ``head_input``)."""
    return "head_input" if layer is None else f"layer:{layer}"


def _fingerprint(indices: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(indices, np.int64).tobytes()).hexdigest()[:12]


def cached_extract(
    path,
    model_fn,
    data,
    layers=(None,),
    indices=None,
    batch_size: int = 64,
    chunk: int = 4096,
    progress: bool = True,
    float16: tuple = (),
) -> dict:
    """Features of ``data[indices]`` at ``layers``, from ``path`` if it holds them, else
    extracted with ``model_fn()`` (built only when needed) and saved there.

    Returns ``{layer_key: (N, D) array, 'labels': (N,), 'indices': (N,)}``; layers named in
    ``float16`` are stored (and returned) in half precision to halve the disk they take.
    """
    path = Path(path)
    n = len(data[0]) if isinstance(data, (tuple, list)) else len(data)
    indices = np.arange(n) if indices is None else np.asarray(indices, np.int64)
    keys = [layer_key(x) for x in layers]
    if path.exists():
        with np.load(path) as z:
            held = {k: z[k] for k in z.files}
        if np.array_equal(held.get("indices"), indices) and all(k in held for k in keys):
            return held
    tag = _fingerprint(indices)
    parts_dir = path.with_name(path.stem + f".parts-{tag}")
    parts_dir.mkdir(parents=True, exist_ok=True)
    model = None
    pieces = []
    n_chunks = (len(indices) + chunk - 1) // chunk
    for i in range(n_chunks):
        part = parts_dir / f"{i:04d}.npz"
        idx = indices[i * chunk : (i + 1) * chunk]
        if not part.exists():
            model = model if model is not None else model_fn()
            feats, labels = extract(
                model,
                data,
                layers,
                batch_size,
                indices=idx,
                progress=progress,
                desc=f"{path.stem} {i + 1}/{n_chunks}",
            )
            arrays = {
                layer_key(x): feats[x].astype(np.float16 if x in float16 else np.float32)
                for x in layers
            }
            tmp = part.with_name(part.stem + ".tmp.npz")
            np.savez(tmp, labels=labels, **arrays)
            tmp.replace(part)
        pieces.append(part)
    out = {"indices": indices}
    loaded = [dict(np.load(p)) for p in pieces]
    out["labels"] = np.concatenate([p["labels"] for p in loaded])
    for k in keys:
        out[k] = np.concatenate([p[k] for p in loaded])
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)
    for p in pieces:
        p.unlink()
    parts_dir.rmdir()
    return out
