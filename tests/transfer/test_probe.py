"""The linear probe against scikit-learn's LogisticRegression, and kNN against a loop."""

import numpy as np
import pytest

from cnnlab.transfer import knn_classify, linear_probe


def _problem(seed=0, n=600, d=20, k=4):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.0, (k, d))
    y = rng.integers(0, k, n)
    x = centres[y] + rng.normal(0, 1.5, (n, d))
    return x.astype(np.float32), y


def test_probe_matches_sklearn_logistic_regression_within_a_point():
    sk = pytest.importorskip("sklearn.linear_model")
    pre = pytest.importorskip("sklearn.preprocessing")
    x, y = _problem()
    xt, yt = _problem(seed=1)
    for C in (0.05, 1.0):
        ours = linear_probe(x, y, xt, yt, C=C, steps=400)
        scaler = pre.StandardScaler().fit(x)
        ref = sk.LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(x), y)
        ref_acc = ref.score(scaler.transform(xt), yt)
        assert abs(ours["acc"] - ref_acc) <= 0.01, (C, ours["acc"], ref_acc)
        # the same minimiser: the weights agree too (up to a shift shared by the classes)
        ours_w = ours["weight"] - ours["weight"].mean(0)
        ref_w = ref.coef_ - ref.coef_.mean(0)
        assert np.abs(ours_w - ref_w).max() < 0.1 * np.abs(ref_w).max()


def test_probe_options_and_errors():
    x, y = _problem(n=100)
    r = linear_probe(x, y, x, y, normalize="l2", steps=50)
    assert r["acc"] == r["train_acc"] and r["weight"].shape == (4, 20)
    with pytest.raises(ValueError, match="normalize"):
        linear_probe(x, y, normalize="pca")
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        linear_probe(x[:, 0], y)


def test_knn_matches_a_brute_force_vote():
    x, y = _problem(n=80)
    xt, yt = _problem(seed=2, n=30)
    r = knn_classify(x, y, xt, yt, k=5, chunk=7)
    a = x / np.linalg.norm(x, axis=1, keepdims=True)
    for i, q in enumerate(xt / np.linalg.norm(xt, axis=1, keepdims=True)):
        sim = a @ q
        top = np.argsort(-sim)[:5]
        votes = np.zeros(4)
        for j in top:
            votes[y[j]] += sim[j]
        assert r["pred"][i] == votes.argmax()
    assert r["acc"] == pytest.approx((r["pred"] == yt).mean())
    assert knn_classify(x[:3], y[:3], xt, k=10)["k"] == 3
