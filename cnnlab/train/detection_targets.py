"""CenterNet's training targets from boxes, and the scene data set that yields them.

For an object with box ``(x1, y1, x2, y2)`` in input pixels and output stride s, its centre in
output cells is ``c = ((x1 + x2) / 2s, (y1 + y2) / 2s)`` and its cell ``floor(c)``. The target
of one image is one array of ``classes + 5`` maps of the output grid:

- ``classes`` heat maps: at the object's cell exactly 1, around it the Gaussian
  ``exp(-dx^2 / 2 sx^2 - dy^2 / 2 sy^2)`` of the cell distance, its spread proportional to
  the box (``sx = 0.54 w / 6`` cells, TTFNet's choice, Liu et al., 2020: the bump covers
  the cells whose box would still overlap the object well); objects of one class take the
  maximum where their bumps meet;
- 2 sizes ``(w, h) / s`` and 2 offsets ``c - floor(c)`` at the object's cell (0 elsewhere);
- 1 mask: 1 at each object's cell, where the size and offset losses apply.

Packing it all in one array keeps the loaders and the trainer unchanged: a batch is
``(images (N, 1, H, W), targets (N, classes + 5, H/s, W/s))``.
"""

from __future__ import annotations

import numpy as np

from cnnlab.data.dataset import Dataset, _check_index, supports_batch

__all__ = ["DetectionScenes", "encode_centernet"]

SPREAD = 0.54 / 6  # Gaussian std per cell of box side (TTFNet's alpha = 0.54)


def encode_centernet(
    boxes, labels, num_classes: int, out_size: tuple, stride: int = 4
) -> np.ndarray:
    """The target maps of one image (see the module docstring).

    Args:
        boxes: (K, 4) boxes ``(x1, y1, x2, y2)`` in input pixels.
        labels: (K,) class indices in ``[0, num_classes)``.
        num_classes: the number of heat maps.
        out_size: ``(h, w)`` of the output grid.
        stride: input pixels per output cell.

    Shape: boxes (K, 4), labels (K,) -> (num_classes + 5, h, w) float32.
    """
    h, w = out_size
    target = np.zeros((num_classes + 5, h, w), np.float32)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    labels = np.asarray(labels, np.int64).reshape(-1)
    if len(boxes) != len(labels):
        raise ValueError(f"encode_centernet: {len(boxes)} boxes but {len(labels)} labels")
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise ValueError(
            f"encode_centernet: labels must be in [0, {num_classes - 1}], got {bad[0]}"
        )
    ys, xs = np.arange(h)[:, None], np.arange(w)[None, :]
    c = num_classes
    for (x1, y1, x2, y2), k in zip(boxes, labels):
        cx, cy = (x1 + x2) / (2 * stride), (y1 + y2) / (2 * stride)
        ix, iy = min(int(cx), w - 1), min(int(cy), h - 1)
        bw, bh = (x2 - x1) / stride, (y2 - y1) / stride
        sx, sy = max(SPREAD * bw, 1e-3), max(SPREAD * bh, 1e-3)
        bump = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - (ys - iy) ** 2 / (2 * sy * sy))
        bump[iy, ix] = 1.0
        np.maximum(target[k], bump, out=target[k])
        target[c : c + 5, iy, ix] = (bw, bh, cx - ix, cy - iy, 1.0)
    return target


class DetectionScenes(Dataset):
    """A scene data set (:class:`cnnlab.data.datasets.scenes.SceneDataset`) with CenterNet
    targets: ``ds[i]`` is ``(image (1, H, W), target (classes + 5, H/s, W/s))``, the image
    through ``transform``; :meth:`boxes` gives the ground truth for scoring.

    Args:
        scenes: the scene data set (any ``target_type``; its images and items are read).
        stride: the detector's output stride.
        transform: applied to each image (normalisation; no geometric augmentation, which
            would have to move the boxes too).
    """

    def __init__(self, scenes, stride: int = 4, transform=None) -> None:
        self.scenes, self.stride, self.transform = scenes, int(stride), transform
        self.classes = list(scenes.classes)
        self.num_classes = len(self.classes)
        side = scenes.data.shape[-1]
        if side % self.stride:
            raise ValueError(
                f"DetectionScenes: image side {side} is not a multiple of stride {self.stride}"
            )
        self.out_size = (scenes.data.shape[-2] // self.stride, side // self.stride)

    def __len__(self) -> int:
        return len(self.scenes)

    def boxes(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Ground truth of scene ``index``: ``(boxes (K, 4) float32, labels (K,) int64)``."""
        return self.scenes.items(index)

    def target(self, index: int) -> np.ndarray:
        boxes, labels = self.scenes.items(index)
        return encode_centernet(boxes, labels, self.num_classes, self.out_size, self.stride)

    def __getitem__(self, index):
        index = _check_index(index, len(self), type(self).__name__)
        img = self.scenes.data[index][None].astype(np.float32) / self.scenes.pixel_max
        if self.transform is not None:
            img = self.transform(img)
        return img, self.target(index)

    def get_batch(self, indices, rng=None):
        """``(images (N, 1, H, W) float32, targets (N, classes + 5, h, w) float32)``."""
        if not supports_batch(self.transform):
            return None
        indices = np.asarray(indices, dtype=np.int64)
        imgs = self.scenes.data[indices][:, None].astype(np.float32) / self.scenes.pixel_max
        if self.transform is not None:
            imgs = self.transform.batch(imgs, rng)
        return imgs, np.stack([self.target(int(i)) for i in indices])

    def __repr__(self) -> str:
        return f"DetectionScenes({self.scenes!r}, stride={self.stride})"
