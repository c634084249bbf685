import importlib.util
import os
import platform

import numpy as np
import pytest

import cnnlab

# References that the parity tests need. Outside CI a missing one skips those tests (with
# the reason in the summary); in CI (CI=true) it is an error at start-up, so a broken set-up
# cannot pass by skipping every parity test. Add a package here when tests start to use it.
REQUIRED_IN_CI = (
    "torch",
    "onnx",
    "onnxruntime",
    "onnxscript",
    "nbclient",
    "nbformat",
    "ipykernel",
    "ipywidgets",
    "pycocotools",
    "nltk",
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_references(names=None) -> list:
    """The names in ``names`` (default: REQUIRED_IN_CI) that cannot be imported here."""
    return [n for n in (REQUIRED_IN_CI if names is None else names) if not _importable(n)]


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _onednn_missing() -> str | None:
    """Why oneDNN does not load on a platform that has its wheel (x86-64 Linux), else None."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return None
    from cnnlab.kernels import onednn

    return None if onednn.available() else onednn.why_unavailable()


def pytest_configure(config):
    missing = missing_references()
    if _in_ci() and missing:
        raise pytest.UsageError(
            f"CI=true but the test references {', '.join(missing)} are not installed; they "
            "are required in CI (tests/conftest.py REQUIRED_IN_CI). Install them (make setup "
            "installs the test extras) or unset CI to skip their tests locally."
        )
    # the oneDNN kernels' parity tests skip where it does not load; in CI on the platform
    # its wheel serves, that would hide a broken set-up behind skipped tests
    why = _onednn_missing() if _in_ci() else None
    if why:
        raise pytest.UsageError(
            f"CI=true on x86-64 Linux but oneDNN does not load ({why}); scripts/setup.sh "
            "installs onednn-cpu-gomp==2023.2.0"
        )


@pytest.fixture(autouse=True)
def _seed():
    cnnlab.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - third-party code may use the legacy global
    yield
