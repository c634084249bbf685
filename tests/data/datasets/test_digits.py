import numpy as np

from cnnlab.data import Digits


def test_digits_split_is_80_20_deterministic_and_holds_sklearn_digits():
    train, test = Digits(), Digits(train=False)
    assert len(train) + len(test) == 1797
    assert abs(len(test) - 0.2 * 1797) < 10
    img, label = train[0]
    assert img.shape == (1, 8, 8) and img.dtype == np.float32
    assert 0 <= img.min() and img.max() <= 1 and 0 <= label <= 9
    assert train.data.max() == 16 and train.classes == [str(d) for d in range(10)]
    np.testing.assert_array_equal(Digits().targets, train.targets)  # deterministic
    both = np.concatenate([train.data, test.data]).reshape(1797, -1)
    from sklearn.datasets import load_digits

    ref = load_digits().images.reshape(1797, -1).astype(np.uint8)
    np.testing.assert_array_equal(np.sort(both, axis=0), np.sort(ref, axis=0))
    np.testing.assert_allclose(img, train.data[0][None] / 16)
