import os
import pickle

import numpy as np
import pytest

from cnnlab.data import CIFAR10, DatasetError
from cnnlab.data.datasets.cifar10 import load_cifar_pickle


def write_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    batch = {
        b"batch_label": b"training batch",
        b"labels": rng.integers(0, 10, n).tolist(),
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    # protocol 4 references only numpy's reconstruction globals, like the real (py2) files
    path.write_bytes(pickle.dumps(batch, protocol=4))
    return batch


@pytest.fixture
def cifar_root(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    batches = [write_batch(root / f"data_batch_{i}", 3, i) for i in range(1, 6)]
    test = write_batch(root / "test_batch", 4, 9)
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer"]
    names += [b"dog", b"frog", b"horse", b"ship", b"truck"]
    meta = {b"label_names": names, b"num_cases_per_batch": 3, b"num_vis": 3072}
    (root / "batches.meta").write_bytes(pickle.dumps(meta, protocol=4))
    return tmp_path, batches, test


def test_cifar_fixture(cifar_root):
    root, batches, test = cifar_root
    train = CIFAR10(root)
    assert len(train) == 15 and train.data.shape == (15, 32, 32, 3)
    assert train.classes[1] == "automobile"
    img, label = train[4]  # batch 2, row 1
    assert img.shape == (3, 32, 32) and img.dtype == np.float32
    raw = batches[1][b"data"][1]
    np.testing.assert_allclose(img, raw.reshape(3, 32, 32) / 255, rtol=1e-6)
    assert label == batches[1][b"labels"][1]
    te = CIFAR10(root / "cifar-10-batches-py", train=False)
    np.testing.assert_array_equal(te.targets, test[b"labels"])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_malicious_pickle_refused(cifar_root, tmp_path):
    root, _, _ = cifar_root
    bad = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    bad.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=4))
    with pytest.raises(DatasetError, match=r"data_batch_3.*(posix|os)\.system"):
        CIFAR10(root)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps([eval], protocol=4))
    with pytest.raises(DatasetError, match="builtins.eval"):
        load_cifar_pickle(evil)


def test_malformed_batch(cifar_root, tmp_path):
    root, _, _ = cifar_root
    bad = tmp_path / "cifar-10-batches-py" / "test_batch"
    bad.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DatasetError, match=r"test_batch.*3072"):
        CIFAR10(root, train=False)
    with pytest.raises(DatasetError, match="data_batch_1"):
        CIFAR10(tmp_path / "nowhere")
