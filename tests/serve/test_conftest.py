"""The browser rule of tests/serve/conftest.py: without chromium, CI fails and elsewhere the
browser test skips with the reason."""

import shutil

import pytest

from tests.serve import conftest


def test_missing_chromium_fails_in_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        conftest.require_chromium()


def test_missing_chromium_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        conftest.require_chromium()


def test_installed_chromium_is_found(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setenv("CI", "true")
    assert conftest.require_chromium() == "/usr/bin/chromium"
