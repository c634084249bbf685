import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.data.dataset import DatasetError
from cnnlab.data.datasets.paths import FASHION_MNIST_SYSTEM_DIR
from cnnlab.vision import datasets, transforms

needs_fashion = pytest.mark.skipif(
    not FASHION_MNIST_SYSTEM_DIR.is_dir(), reason="Fashion-MNIST is not installed"
)


@needs_fashion
def test_fashion_mnist_items_as_torchvision(tmp_path):
    ds = datasets.FashionMNIST(tmp_path, train=False, download=True)
    img, label = ds[0]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    assert isinstance(label, int) and len(ds) == 10000 and ds.classes[0] == "T-shirt/top"
    assert isinstance(ds.data, cnnlab.Tensor) and ds.data.shape == (10000, 28, 28)
    assert ds.targets.dtype == np.int64 and ds.class_to_idx["Ankle boot"] == 9
    tds = datasets.FashionMNIST(
        tmp_path, train=False, transform=transforms.ToTensor(), target_transform=lambda t: t + 100
    )
    x, y = tds[0]
    assert isinstance(x, cnnlab.Tensor) and x.shape == (1, 28, 28) and y == label + 100
    np.testing.assert_allclose(x.numpy()[0], np.asarray(img) / 255, rtol=1e-6)


def test_missing_data_names_the_install_command(tmp_path):
    with pytest.raises(DatasetError, match="cnnlab never downloads.*cifar-10-python"):
        datasets.CIFAR10(tmp_path, download=True)
    with pytest.raises(DatasetError, match="no cifar-10-batches-py"):
        datasets.CIFAR10(tmp_path)


def test_idx_files_under_root_are_read_first(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    for split, n in (("train", 2), ("t10k", 2)):
        header = (2051).to_bytes(4, "big") + b"".join(v.to_bytes(4, "big") for v in (n, 28, 28))
        (raw / f"{split}-images-idx3-ubyte").write_bytes(header + images.tobytes())
        labels = (2049).to_bytes(4, "big") + n.to_bytes(4, "big") + bytes([3, 7])
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(labels)
    ds = datasets.MNIST(tmp_path)
    assert len(ds) == 2 and ds[1][1] == 7
    np.testing.assert_array_equal(np.asarray(ds[0][0]), images[0])
    assert ds.get_batch([0, 1]) is None  # PIL images: no vectorised path
    # ToTensor + Normalize: the loader's vectorised batch equals the items, bit for bit
    ds.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1,), (0.3,))])
    x, y = ds.get_batch([1, 0])
    np.testing.assert_array_equal(x[0], ds[1][0].numpy())
    np.testing.assert_array_equal(y, [7, 3])
    ds.target_transform = lambda t: t
    assert ds.get_batch([0]) is None


def test_fake_data_is_stable_per_index():
    ds = datasets.FakeData(
        size=4, image_size=(3, 8, 6), num_classes=3, transform=transforms.ToTensor()
    )
    x, y = ds[2]
    assert x.shape == (3, 8, 6) and 0 <= y < 3
    np.testing.assert_array_equal(ds[2][0].numpy(), x.numpy())
    with pytest.raises(IndexError):
        ds[4]


def test_image_folder_as_torchvision(tmp_path):
    for cls, colour in (("cat", 200), ("ant", 10)):
        (tmp_path / cls).mkdir()
        Image.fromarray(np.full((5, 6), colour, np.uint8)).save(tmp_path / cls / "a.png")
    (tmp_path / "ant" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert ds.classes == ["ant", "cat"] and ds.class_to_idx == {"ant": 0, "cat": 1}
    assert len(ds) == 2 and ds.targets == [0, 1]
    x, y = ds[1]
    assert x.shape == (3, 5, 6) and y == 1 and abs(float(x.numpy().max()) - 200 / 255) < 1e-6
    with pytest.raises(FileNotFoundError, match="class folder"):
        datasets.ImageFolder(tmp_path / "ant")
