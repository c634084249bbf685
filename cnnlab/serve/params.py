"""A request's values, checked: the JSON body of a POST (JSON only: a form or multipart
body is what another site's page can send without asking, so it is refused) or the query of
a GET, and each value read with its type and range. Anything else is :class:`BadInput` with
a message naming the field (HTTP 400), never a Python error."""

from __future__ import annotations

import json
import math

from cnnlab.serve.encode import BadInput

__all__ = ["body", "integer", "layer", "number", "text"]


class NotJSON(BadInput):
    """A POST whose body is not ``application/json`` (HTTP 415)."""


def body(request) -> dict:
    """The request's parameters: a POST's JSON object, or a GET's query string."""
    if request.method == "GET":
        return request.args.to_dict()
    if request.mimetype != "application/json":
        raise NotJSON(f"send JSON (Content-Type: application/json), not {request.mimetype!r}")
    raw = request.get_data(cache=False)
    try:
        p = json.loads(raw) if raw else {}
    except RecursionError:
        raise BadInput("the request body is nested too deeply") from None
    except ValueError as e:
        raise BadInput(f"the request body is not JSON: {e}") from None
    if not isinstance(p, dict):
        raise BadInput("the request body is not a JSON object")
    return p


def _shown(v) -> str:
    """A JSON value in a message: short, and never re-serialised (it may nest deeply)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return "an object" if isinstance(v, dict) else "a list"
    return f"{v!r:.40}"


def _scalar(p: dict, key: str, default, what: str):
    v = p.get(key, default)
    if isinstance(v, (dict, list, bool)):
        raise BadInput(f"{key}: expected {what}, got {_shown(v)}")
    return v


def integer(p: dict, key: str, default=None, lo: int | None = None, hi: int | None = None) -> int:
    """``p[key]`` as an int in ``[lo, hi]``: an integer, an integral finite number or its
    text (a query string's ``"3"``); never a bool."""
    v = _scalar(p, key, default, "an integer")
    out = None
    if isinstance(v, int):
        out = v
    elif isinstance(v, float) and math.isfinite(v) and v == int(v):
        out = int(v)
    elif isinstance(v, str) and len(v) < 40:
        try:
            out = int(v.strip())
        except ValueError:
            pass
    if out is None:
        raise BadInput(f"{key}: expected an integer, got {v!r:.40}")
    return _within(key, out, lo, hi)


def number(
    p: dict, key: str, default=None, lo: float | None = None, hi: float | None = None
) -> float:
    """``p[key]`` as a finite float in ``[lo, hi]``; never a bool."""
    v = _scalar(p, key, default, "a number")
    try:
        out = float(v)
    except (TypeError, ValueError, OverflowError):
        raise BadInput(f"{key}: expected a number, got {v!r:.40}") from None
    if not math.isfinite(out):
        raise BadInput(f"{key}: expected a finite number, got {v!r:.40}")
    return _within(key, out, lo, hi)


def _within(key: str, v, lo, hi):
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        want = (
            f"in [{lo}, {hi}]"
            if lo is not None and hi is not None
            else (f"at least {lo}" if lo is not None else f"at most {hi}")
        )
        raise BadInput(f"{key}: must be {want}, got {v}")
    return v


def text(p: dict, key: str, default: str | None = None) -> str | None:
    """``p[key]`` as a string (or ``default`` when absent or null)."""
    v = p.get(key)
    if v is None:
        return default
    if not isinstance(v, str):
        raise BadInput(f"{key}: expected a string, got {_shown(v)}")
    return v


def layer(p: dict, key: str = "layer", default=0):
    """A layer given by index (an integer) or by name (a string that is not a number)."""
    v = _scalar(p, key, default, "a layer index or name")
    if isinstance(v, str) and not v.strip().lstrip("+-").isdigit():
        return v
    return integer(p, key, default)
