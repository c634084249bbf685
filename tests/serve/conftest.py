"""Fixtures for the browser lab's tests: a runs folder with one small checkpoint (LeNet-5,
seeded weights, Fashion-MNIST's normalisation and classes), the Lab on it, Flask's test client,
and Debian's chromium for the browser test (a missing one fails the run in CI, skips
elsewhere)."""

from __future__ import annotations

import os
import shutil

import pytest

import cnnlab
from cnnlab import models
from cnnlab.train.checkpoint import save_checkpoint

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
CLASSES += ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CONFIG = {
    "model": "lenet5",
    "data": "fashion-mnist",
    "in_channels": 1,
    "num_classes": 10,
    "input_size": [28, 28],
    "mean": [0.2860],
    "std": [0.3530],
    "classes": CLASSES,
}
CHROMIUM_NAMES = ("chromium", "chromium-browser")


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    (runs / "tiny").mkdir()
    cnnlab.manual_seed(0)
    model = models.create("lenet5")
    save_checkpoint(runs / "tiny" / "best.safetensors", model=model, config=CONFIG)
    (runs / "tiny" / "summary.json").write_text('{"model": "lenet5", "data": "fashion-mnist"}')
    return runs


PAYLOAD = '<img src=x onerror="window.__pwned=(window.__pwned||0)+1">'


@pytest.fixture(scope="session")
def seg_lab(tmp_path_factory):
    """A lab holding one segmenter run (a small dilated_fcn, seeded weights, with BatchNorm
    statistics of a batch so its masks are not uniform) whose class names carry script."""
    from cnnlab.serve.lab import Lab

    runs = tmp_path_factory.mktemp("seg-runs")
    (runs / "seg").mkdir()
    cnnlab.manual_seed(0)
    model = models.create("dilated_fcn", width=4)
    with cnnlab.no_grad():
        model(cnnlab.rand(4, 1, 64, 64))  # train mode: running statistics of a batch
    classes = ["background", *(f"{PAYLOAD}{k}" for k in range(10))]
    config = {"model": "dilated_fcn", "task": "segment", "in_channels": 1, "num_classes": 11}
    config |= {"input_size": [64, 64], "mean": [0.0], "std": [1.0], "classes": classes}
    config |= {"model_options": {"width": 4}}
    save_checkpoint(runs / "seg" / "best.safetensors", model=model, config=config)
    summary = '{"task": "segment", "model": "dilated_fcn", "test_miou": 0.5}'
    (runs / "seg" / "summary.json").write_text(summary)
    return Lab(runs)


@pytest.fixture(scope="session")
def lab(runs_dir):
    from cnnlab.serve.lab import Lab

    return Lab(runs_dir, allow_zoo=True)


@pytest.fixture()
def loaded(lab):
    with lab.use(None) as m:
        yield m


@pytest.fixture(scope="session")
def client(lab):
    from cnnlab.serve.app import create_app

    app = create_app(lab)
    app.config["TESTING"] = True
    return app.test_client()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def require_chromium() -> str:
    """chromium's path; without one, fail in CI (CI=true) and skip elsewhere, with the reason."""
    path = find_chromium()
    if path is None:
        msg = "Debian's chromium is not installed (scripts/setup.sh --test installs it)"
        if in_ci():
            pytest.fail(f"CI=true: {msg}; the browser test must run in CI")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def chromium():
    return require_chromium()


@pytest.fixture(scope="session")
def browser(chromium):
    """Playwright for Python driving Debian's chromium (no browser download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        msg = "Playwright is not installed (pip install -e '.[test]' installs it)"
        if in_ci():
            pytest.fail(f"CI=true: {msg}")
        pytest.skip(msg)
    from tests.serve.browser import FLAGS

    args = [f for f in FLAGS if f not in ("--headless", "--hide-scrollbars")]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=args)
        yield b
        b.close()


@pytest.fixture(scope="session")
def cap_lab(tmp_path_factory):
    """A lab holding one captioner run (a small show_attend_tell, seeded weights, with
    BatchNorm statistics of a batch) whose words carry script; the zoo beside it."""
    from cnnlab.serve.lab import Lab

    runs = tmp_path_factory.mktemp("cap-runs")
    (runs / "cap").mkdir()
    cnnlab.manual_seed(0)
    options = {"widths": [4, 4, 8, 8], "embed_size": 8, "hidden_size": 16, "attention_size": 8}
    model = models.create("show_attend_tell", **options)
    with cnnlab.no_grad():
        model.encoder(cnnlab.rand(4, 1, 64, 64))  # train mode: running statistics of a batch
    classes = [f"{PAYLOAD}{k}" for k in range(10)]
    config = {"model": "show_attend_tell", "task": "caption", "in_channels": 1}
    config |= {"num_classes": 13, "input_size": [64, 64], "mean": [0.1], "std": [0.2]}
    config |= {"classes": classes, "words": ["<pad>", "<start>", "<end>", *classes]}
    config |= {"max_len": 4, "beam_size": 2, "model_options": options}
    save_checkpoint(runs / "cap" / "best.safetensors", model=model, config=config)
    (runs / "cap" / "summary.json").write_text('{"task": "caption", "test_exact_acc": 0.5}')
    return Lab(runs, allow_zoo=True)
