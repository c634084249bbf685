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
