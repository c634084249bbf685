"""Augmentation of an image together with its per-pixel mask (segmentation).

A flip or a shift that moves the image must move its mask the same way, or the labels no
longer sit on their pixels; a transform here takes both and draws one set of random numbers
for the pair. ``t(img, mask, rng=None)`` transforms one pair, ``t.batch(imgs, masks,
rng=None)`` a batch; random draws come from ``rng``, else from the generator a DataLoader
installed for this batch (:func:`cnnlab.data.transforms.current_rng`), so runs repeat.
"""

from __future__ import annotations

import numpy as np

from cnnlab.data.transforms import current_rng

__all__ = ["RandomShiftFlip"]


class RandomShiftFlip:
    """Shift image and mask by up to ``padding`` pixels each way (pad with background, then
    crop back to the size, as :class:`~cnnlab.data.transforms.RandomCrop`) and mirror both
    left-right with probability ``p``.

    Args:
        padding: the largest shift in pixels, vertical and horizontal (0: no shift).
        p: the probability of a left-right flip.
        fill: the image value of the uncovered border (the mask gets ``0``, background).

    Shape:
        - imgs: (N, C, H, W); masks: (N, H, W) -> the same shapes
    """

    def __init__(self, padding: int = 4, p: float = 0.5, fill: float = 0.0) -> None:
        if int(padding) < 0 or not 0.0 <= float(p) <= 1.0:
            raise ValueError(
                f"RandomShiftFlip: padding must be >= 0 and p in [0, 1], got {padding}, {p}"
            )
        self.padding, self.p, self.fill = int(padding), float(p), float(fill)

    def __repr__(self) -> str:
        return f"RandomShiftFlip(padding={self.padding}, p={self.p}, fill={self.fill})"

    def __call__(self, img, mask, rng=None) -> tuple[np.ndarray, np.ndarray]:
        img, mask = np.asarray(img), np.asarray(mask)
        if img.ndim != 3:
            raise ValueError(f"RandomShiftFlip: expected a (C, H, W) image, got {img.shape}")
        imgs, masks = self.batch(img[None], mask[None], rng)
        return imgs[0], masks[0]

    def batch(self, imgs, masks, rng=None) -> tuple[np.ndarray, np.ndarray]:
        imgs, masks = np.asarray(imgs), np.asarray(masks)
        if imgs.ndim != 4 or masks.shape != (imgs.shape[0], *imgs.shape[2:]):
            raise ValueError(
                f"RandomShiftFlip.batch: expected images (N, C, H, W) and masks (N, H, W), "
                f"got {imgs.shape} and {masks.shape}"
            )
        rng = rng if rng is not None else current_rng()
        n, _, h, w = imgs.shape
        k = self.padding
        if k:
            img_pad = np.pad(imgs, ((0, 0), (0, 0), (k, k), (k, k)), constant_values=self.fill)
            mask_pad = np.pad(masks, ((0, 0), (k, k), (k, k)))
            top = rng.integers(0, 2 * k + 1, size=n)
            left = rng.integers(0, 2 * k + 1, size=n)
            rows = top[:, None] + np.arange(h)  # (N, H): each image's own window
            cols = left[:, None] + np.arange(w)
            at = np.arange(n)[:, None, None]
            imgs = img_pad[at, :, rows[:, :, None], cols[:, None, :]].transpose(0, 3, 1, 2)
            masks = mask_pad[at, rows[:, :, None], cols[:, None, :]]
        flip = rng.random(n) < self.p
        imgs, masks = imgs.copy(), masks.copy()
        imgs[flip] = imgs[flip][..., ::-1]
        masks[flip] = masks[flip][..., ::-1]
        return imgs, masks
