"""The CI rule of tests/conftest.py: a missing test reference fails the run in CI only."""

import pytest

from tests import conftest


def test_missing_reference_is_an_error_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(conftest, "REQUIRED_IN_CI", ("torch", "no_such_reference_pkg"))
    with pytest.raises(pytest.UsageError, match="no_such_reference_pkg are not installed"):
        conftest.pytest_configure(None)


def test_missing_reference_is_not_an_error_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(conftest, "REQUIRED_IN_CI", ("no_such_reference_pkg",))
    conftest.pytest_configure(None)  # the parity tests skip with their reason instead
    assert conftest.missing_references() == ["no_such_reference_pkg"]


def test_installed_references_pass_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(conftest, "REQUIRED_IN_CI", ("numpy",))
    conftest.pytest_configure(None)


def test_onednn_that_does_not_load_is_an_error_in_ci_on_its_platform(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(conftest, "REQUIRED_IN_CI", ("numpy",))
    monkeypatch.setattr(conftest, "_onednn_missing", lambda: "libdnnl.so.3 not found")
    with pytest.raises(pytest.UsageError, match="oneDNN does not load"):
        conftest.pytest_configure(None)
    monkeypatch.delenv("CI")
    conftest.pytest_configure(None)  # outside CI its tests skip with the reason


def test_onednn_is_not_asked_for_off_its_platform(monkeypatch):
    monkeypatch.setattr(conftest.platform, "machine", lambda: "aarch64")
    assert conftest._onednn_missing() is None
