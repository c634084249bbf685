"""Tiny settings that run each experiment end to end in seconds (the claims need not hold)."""

import pytest

TINY = {
    "init": dict(
        depth=30,
        width=128,
        epochs=1,
        batch_size=64,
        limit=192,
        test_limit=200,
        eval_every=2,
        eval_images=100,
    ),
    "batchnorm": dict(
        mlp_images=240,
        mlp_epochs=1,
        cnn_images=120,
        cnn_epochs=1,
        mlp_eval_every=2,
        cnn_eval_every=1,
        eval_images=100,
        test_images=200,
    ),
    "activation": dict(
        depth=6,
        width=32,
        epochs=1,
        batch_size=64,
        limit=192,
        test_limit=200,
        eval_every=2,
        eval_images=100,
    ),
    "dropout": dict(images=100, epochs=3, batch_size=50, width=64, eval_every=2, test_images=200),
    "pooling": dict(images=128, epochs=1, batch_size=64, test_images=200, shift_images=100),
    "ablation": dict(images=32, epochs=1, batch_size=16, test_images=50),
    "depth": dict(images=32, epochs=1, batch_size=16, eval_every=1, eval_images=16, test_images=32),
}


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """``name -> (results, out)``, each experiment run once per session with TINY settings."""
    from cnnlab import experiments

    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            results = experiments.run(
                name, budget="quick", seeds=1, out=out, progress=False, knobs=TINY[name]
            )
            cache[name] = results, out
        return cache[name]

    return get
