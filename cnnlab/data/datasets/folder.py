"""Images on disk, one sub-folder per class (the torchvision ``ImageFolder`` layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.data.dataset import Dataset, DatasetError

__all__ = ["IMG_EXTENSIONS", "ImageFolder"]

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageFolder(Dataset):
    """``root/<class>/<image>``: classes are the sub-folder names, sorted.

    Images load lazily through :func:`cnnlab.images.load_image` as RGB (or grey with
    ``grayscale=True``); with ``size`` (an int for square, or ``(height, width)``) the shorter
    side is resized and the centre cropped, the rule every cnnlab command uses.

    Shape:
        - image: (3, H, W) or (1, H, W) float32 in [0, 1]
    """

    def __init__(
        self, root, transform=None, target_transform=None, grayscale: bool = False, size=None
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"ImageFolder: {self.root} is not a directory")
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if not self.classes:
            raise DatasetError(f"ImageFolder: {self.root} has no class sub-folders")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = [
            (str(p), self.class_to_idx[c])
            for c in self.classes
            for p in sorted((self.root / c).rglob("*"))
            if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS
        ]
        if not self.samples:
            raise DatasetError(
                f"ImageFolder: no images ({', '.join(IMG_EXTENSIONS)}) under {self.root}"
            )
        self.targets = np.array([t for _, t in self.samples], dtype=np.int64)
        self.transform = transform
        self.target_transform = target_transform
        self.grayscale = grayscale
        self.size = (size, size) if isinstance(size, int) else (tuple(size) if size else None)

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, path: str) -> np.ndarray:
        """One image file as float32 (C, H, W) in [0, 1]."""
        from cnnlab.images import load_image, read_image

        channels = 1 if self.grayscale else 3
        try:
            if self.size is None:
                return np.ascontiguousarray(read_image(path, channels).transpose(2, 0, 1))
            return load_image(path, self.size, channels=channels)
        except ValueError as e:
            raise DatasetError(f"ImageFolder: cannot read {path} ({e})") from e

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        img = self.load(path)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return img, label
