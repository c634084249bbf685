"""Who may talk to the lab: the checks every request passes before a route runs, and the
headers every answer carries.

The lab is a local service that loads models and runs work on request, so a page on another
site must not be able to drive it through the user's browser:

- **Host**: on a loopback address the ``Host`` header must name this machine (``localhost``,
  ``127.0.0.1``, ``[::1]``): a DNS-rebinding page reaches the server under its own name and is
  refused.
- **Origin**: a request that carries ``Origin`` (browsers send it with every POST and every
  cross-origin fetch) must come from the server's own origin; ``Sec-Fetch-Site`` other than
  ``same-origin``/``none`` is refused on the API.
- **Token**: on any other address (``--host 0.0.0.0``) every request needs the token printed
  at start, as Jupyter does: ``/?token=T`` once (it becomes a ``SameSite=Strict`` cookie and
  the address bar loses it), or ``Authorization: token T``.
- **Headers**: a strict Content-Security-Policy (scripts, styles and requests from this origin
  only, images also as ``data:`` URLs, no frames), ``nosniff``, ``X-Frame-Options: DENY``,
  no referrer, and no caching of API answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from flask import jsonify, make_response, redirect, request

__all__ = ["COOKIE", "CSP", "Guard", "is_loopback", "new_token"]

COOKIE = "cnnlab_token"
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only reaches this machine."""
    if host.strip("[]") in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh random token (32 bytes of entropy, URL-safe)."""
    return secrets.token_urlsafe(32)


def _hostname(netloc: str) -> str:
    """``netloc`` without its port: ``[::1]:80`` -> ``::1``, ``a.b:80`` -> ``a.b``."""
    try:
        return (urlsplit(f"//{netloc}").hostname or "").lower()
    except ValueError:
        return ""


def _refuse(status: int, message: str):
    return make_response(jsonify(error=message), status)


class Guard:
    """The checks of the module docstring for a server bound to ``host``; ``token`` is
    required (non-None) on any address that is not loopback."""

    def __init__(self, host: str = "127.0.0.1", token: str | None = None) -> None:
        if token is None and not is_loopback(host):
            raise ValueError(f"serve: --host {host} reaches other machines: a token is needed")
        self.host, self.token = host, token
        self.hosts = {*LOCAL_NAMES, host.strip("[]").lower()}

    def install(self, app) -> None:
        app.before_request(self.check)
        app.after_request(self.headers)

    def check(self):
        """None when the request may go on, else the refusal (403 with a message)."""
        if self.token is None and _hostname(request.host) not in self.hosts:
            return _refuse(403, f"Host {request.host!r} is not this server's address")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
            return _refuse(403, f"requests from origin {origin!r} are refused")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not request.is_json:
            return _refuse(415, "send JSON (Content-Type: application/json)")
        site = request.headers.get("Sec-Fetch-Site")
        if request.path.startswith("/api/") and site not in (None, "same-origin", "none"):
            return _refuse(403, f"{site} requests are refused")
        if self.token is not None:
            return self._check_token()
        return None

    def _check_token(self):
        given = request.args.get("token")
        if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            resp = redirect(request.path, code=303)  # the token leaves the address bar
            resp.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
            return resp
        auth = request.headers.get("Authorization", "")
        for candidate in (request.cookies.get(COOKIE, ""), auth.removeprefix("token ")):
            if candidate and hmac.compare_digest(candidate.encode(), self.token.encode()):
                return None
        return _refuse(403, "this lab needs its token: open the address printed when it started")

    def headers(self, resp):
        for k, v in HEADERS.items():
            resp.headers.setdefault(k, v)
        if request.path.startswith("/api/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp
