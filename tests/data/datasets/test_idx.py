import gzip
import struct

import numpy as np
import pytest

from cnnlab.data import MNIST, DatasetError, FashionMNIST, read_idx
from cnnlab.data.datasets.paths import FASHION_MNIST_SYSTEM_DIR


def idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    magic = (0x08 << 8 | arr.ndim) if magic is None else magic
    return struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write(path, payload: bytes, gz: bool):
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def make_split(root, split="train", n=5, gz=True, n_labels=None, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n_labels or n).astype(np.uint8)
    write(root / f"{split}-images-idx3-ubyte", idx_bytes(images), gz)
    write(root / f"{split}-labels-idx1-ubyte", idx_bytes(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path / "x-idx3-ubyte", idx_bytes(arr), gz)
    out = read_idx(path, 2051)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_idx_files(tmp_path, gz):
    images, labels = make_split(tmp_path, "train", 5, gz)
    make_split(tmp_path, "t10k", 3, gz, seed=1)
    ds = MNIST(tmp_path)
    assert len(ds) == 5 and len(MNIST(tmp_path, train=False)) == 3
    img, label = ds[2]
    assert img.shape == (1, 28, 28) and img.dtype == np.float32
    np.testing.assert_allclose(img[0], images[2] / 255, rtol=1e-6)
    assert isinstance(label, int) and label == labels[2]
    assert ds.targets.dtype == np.int64 and ds.data.dtype == np.uint8
    assert ds[-1][1] == labels[-1]
    with pytest.raises(IndexError):
        ds[5]


def test_bad_magic_names_file(tmp_path):
    make_split(tmp_path, gz=False)
    bad = tmp_path / "train-labels-idx1-ubyte"
    bad.write_bytes(idx_bytes(np.zeros(5, np.uint8), magic=2051))
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte.*magic.*2051.*2049"):
        MNIST(tmp_path)


def test_truncated_file_names_file(tmp_path):
    make_split(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    payload = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(payload[:-100]))
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz: truncated"):
        MNIST(tmp_path)


def test_truncated_gzip_stream(tmp_path):
    make_split(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz"):
        MNIST(tmp_path)


def test_count_mismatch(tmp_path):
    make_split(tmp_path, n=5, n_labels=4, gz=False)
    with pytest.raises(DatasetError, match=r"5 images.*train-labels-idx1-ubyte holds 4 labels"):
        MNIST(tmp_path)


def test_missing_files_and_install_hint(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match="t10k-images"):
        MNIST(tmp_path, train=False)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    monkeypatch.setattr(
        "cnnlab.data.datasets.idx.fashion_mnist_dirs", lambda: [tmp_path / "fashion-mnist"]
    )
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        FashionMNIST()


def test_fashion_mnist_env_root(tmp_path, monkeypatch):
    (tmp_path / "fashion-mnist").mkdir()
    make_split(tmp_path / "fashion-mnist", n=4, gz=True)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    ds = FashionMNIST()
    assert len(ds) == 4 and ds.root == tmp_path / "fashion-mnist"
    assert ds.classes[0] == "T-shirt/top" and len(ds.classes) == 10


@pytest.mark.skipif(not FASHION_MNIST_SYSTEM_DIR.is_dir(), reason="dataset-fashion-mnist absent")
def test_real_fashion_mnist(monkeypatch):
    monkeypatch.delenv("CNNLAB_DATA", raising=False)
    train, test = FashionMNIST(), FashionMNIST(train=False)
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert train.classes[9] == "Ankle boot"
    np.testing.assert_array_equal(np.bincount(test.targets), [1000] * 10)
    img, label = test[0]
    assert img.shape == (1, 28, 28) and 0 <= img.min() and img.max() <= 1 and label == 9


def test_a_gzip_bomb_is_refused_before_it_inflates(tmp_path):
    # a small .gz whose header claims 4 GB of pixels, followed by 64 MB of zeros: refused
    # from the header, nothing inflated (the old reader decompressed all of it first)
    import gzip
    import tracemalloc

    p = tmp_path / "train-images-idx3-ubyte.gz"
    head = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (65536, 256, 256))
    with gzip.open(p, "wb", compresslevel=1) as f:
        f.write(head)
        zeros = bytes(1 << 20)
        for _ in range(64):
            f.write(zeros)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"4294967296 bytes\), more than the 1073741824"):
            read_idx(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_a_file_longer_than_its_header_is_refused(tmp_path):
    p = tmp_path / "t10k-labels-idx1-ubyte"
    p.write_bytes((2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(5))
    with pytest.raises(DatasetError, match="has trailing bytes: header says shape"):
        read_idx(p)
