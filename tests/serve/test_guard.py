"""The lab's gate (cnnlab/serve/guard.py) through Flask's test client: the Host header must
name this machine (DNS rebinding), requests from another origin or site are refused, POSTs
must be JSON, a token is needed off loopback, and every answer carries the security headers."""

from __future__ import annotations

import pytest

from cnnlab.serve.app import create_app
from cnnlab.serve.guard import COOKIE, Guard, is_loopback


def test_every_answer_has_the_security_headers(client):
    for path in ("/", "/static/lab.js", "/api/models", "/api/nothing"):
        h = client.get(path).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    assert client.get("/api/models").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "10.0.0.5", "[::2]:80"])
def test_a_foreign_host_header_is_refused(client, host):
    r = client.get("/api/models", headers={"Host": host})
    assert r.status_code == 403 and "not this server's address" in r.get_json()["error"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST:1"])
def test_loopback_host_headers_pass(client, host):
    assert client.get("/api/models", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:9999"},  # another port is another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_requests_from_another_origin_are_refused(client, headers):
    r = client.post("/api/class-model", json={"target": 1, "steps": 1}, headers=headers)
    assert r.status_code == 403 and "refused" in r.get_json()["error"]


def test_same_origin_requests_pass(client):
    h = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.get("/api/models", headers=h).status_code == 200


def test_a_plain_text_post_carrying_json_is_refused(client):
    # the classic cross-site trick: a "simple" request whose body happens to be JSON
    r = client.post("/api/class-model", data='{"target": 1}', content_type="text/plain")
    assert r.status_code == 415 and "JSON" in r.get_json()["error"]


@pytest.fixture()
def token_client(lab):
    app = create_app(lab, Guard("0.0.0.0", "s3cret-token"))
    app.config["TESTING"] = True
    return app.test_client()


def test_off_loopback_every_request_needs_the_token(token_client):
    r = token_client.get("/api/models", headers={"Host": "192.168.1.20:8000"})
    assert r.status_code == 403 and "token" in r.get_json()["error"]
    assert token_client.get("/?token=wrong").status_code == 403
    ok = token_client.get("/api/models", headers={"Authorization": "token s3cret-token"})
    assert ok.status_code == 200


def test_the_token_in_the_address_becomes_a_strict_cookie(token_client):
    r = token_client.get("/?token=s3cret-token")
    assert r.status_code == 303 and r.headers["Location"].endswith("/")  # token out of the URL
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=s3cret-token") and "SameSite=Strict" in cookie
    assert "HttpOnly" in cookie
    assert token_client.get("/api/models").status_code == 200  # the client kept the cookie


def test_a_guard_off_loopback_without_a_token_is_refused():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    with pytest.raises(ValueError, match="token is needed"):
        Guard("0.0.0.0")
