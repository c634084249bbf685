"""A cnnlab-trained classifier as the measuring instrument for samples: its class
probabilities and its features: the output of its last layer with a (N, C, H, W) map,
averaged over the positions (as Inception's pool3 features are for FID). The flattened map
itself (6,272 numbers for fashion_cnn) would make the Fréchet distance's matrix square root
slow and its covariance estimate poor."""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab import backend

__all__ = ["ClassifierProbe", "fit_images", "missing_classifier_message"]


def missing_classifier_message(data: str | None) -> str:
    """What to tell a user who asked for sample metrics without a classifier."""
    name = data or "fashion-mnist"
    return (
        "gan evaluate: give --classifier CKPT, a classifier of the same data set trained with "
        f"cnnlab (for example `cnnlab train --data {name} --out runs/clf` and then "
        "--classifier runs/clf/last.safetensors); Inception features mean little for these "
        "images, and cnnlab does not train one silently"
    )


def fit_images(images: np.ndarray, size: tuple) -> np.ndarray:
    """Centre-crop or pad (with the background, 0) images ``(N, C, H, W)`` in [0, 1] to
    ``size`` (H, W); 28 <-> 32 is a 2-pixel border. Larger differences are resized (bilinear,
    antialiased: :func:`cnnlab.images.resize_matrix`, the whole batch in two products)."""
    x = np.asarray(images, np.float32)
    h, w = x.shape[2:]
    th, tw = size
    if (h, w) == (th, tw):
        return x
    if abs(h - th) <= 8 and abs(w - tw) <= 8:
        out = np.zeros((*x.shape[:2], th, tw), np.float32)
        ch, cw = min(h, th), min(w, tw)
        sy, sx = (h - ch) // 2, (w - cw) // 2
        dy, dx = (th - ch) // 2, (tw - cw) // 2
        out[:, :, dy : dy + ch, dx : dx + cw] = x[:, :, sy : sy + ch, sx : sx + cw]
        return out
    from cnnlab.images import resize_matrix  # the one image pipeline's bilinear resize

    return (resize_matrix(h, th) @ x @ resize_matrix(w, tw).T).astype(np.float32)


class ClassifierProbe:
    """Load a classifier checkpoint (``cnnlab train``) and read samples through it.

    Images go in as ``(N, C, H, W)`` in [0, 1] at any nearby size; the probe fits them to
    the classifier's input and applies its normalisation.
    """

    def __init__(self, checkpoint) -> None:
        from cnnlab.models.loading import open_model

        info = open_model(checkpoint)
        self.model, self.shape, self.classes = info.model.eval(), info.shape, info.classes
        self.normalize, self.data = info.normalize, info.data
        self._layer = self._last_map_layer()
        if self._layer is None:
            raise ValueError(
                f"{checkpoint}: no layer of the classifier outputs a (N, C, H, W) map to read "
                "features from"
            )

    def _last_map_layer(self):
        """The last leaf module, in call order, whose output has 4 dims."""
        seen = []
        leaves = [m for m in self.model.modules() if not list(m.children())]
        handles = [
            m.register_forward_hook(lambda m, i, o: seen.append(m) if o.ndim == 4 else None)
            for m in leaves
        ]
        try:
            with cnnlab.no_grad():
                self.model(cnnlab.zeros(2, *self.shape))
        finally:
            for h in handles:
                h.remove()
        return seen[-1] if seen else None

    def _run(self, x: np.ndarray):
        x = fit_images(x, self.shape[1:])
        if self.normalize is not None:
            mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in self.normalize)
            x = (x - mean) / std
        store = {}
        handle = self._layer.register_forward_hook(lambda m, i, o: store.setdefault("f", o))
        try:
            with cnnlab.no_grad():
                logits = self.model(cnnlab.tensor(x.astype(np.float32)))
        finally:
            handle.remove()
        feats = backend.to_numpy(store["f"].data).mean(axis=(2, 3))
        return backend.to_numpy(logits.data), feats

    def run(self, images: np.ndarray, batch_size: int = 500) -> dict:
        """``{'probs' (N, K), 'features' (N, D), 'predicted' (N,)}`` for images in [0, 1]."""
        probs, feats = [], []
        for i in range(0, len(images), batch_size):
            logits, f = self._run(np.asarray(images[i : i + batch_size], np.float32))
            z = logits - logits.max(1, keepdims=True)
            e = np.exp(z)
            probs.append(e / e.sum(1, keepdims=True))
            feats.append(f)
        p = np.concatenate(probs)
        return {"probs": p, "features": np.concatenate(feats), "predicted": p.argmax(1)}

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted class per image in [0, 1]."""
        return self.run(images)["predicted"]
