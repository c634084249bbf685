"""Debian's chromium, headless, on a lab served from a thread on 127.0.0.1: the page's DOM
after it has settled, or a screenshot of it. Used by test_browser.py and, for the README's
picture, as ``python -m tests.serve.browser OUT.png [--runs DIR | --checkpoint CKPT]``."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from contextlib import contextmanager

# no first-run UI, no background traffic to the (closed) network
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


@contextmanager
def serving(lab):
    """The lab's app on a free port of 127.0.0.1 in a thread; yields its URL."""
    from werkzeug.serving import make_server

    from cnnlab.serve.app import create_app

    server = make_server("127.0.0.1", 0, create_app(lab), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(10)


def _run(binary: str, url: str, extra: list, budget_ms: int, timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="cnnlab-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}"]
        cmd += [f"--virtual-time-budget={budget_ms}", *extra, url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def dump_dom(binary: str, url: str, budget_ms: int = 20000, timeout: float = 120) -> str:
    """The page's DOM once its requests have settled (virtual time waits for the network)."""
    return _run(binary, url, ["--dump-dom"], budget_ms, timeout)


def screenshot(binary: str, url: str, path, size=(1280, 1500), budget_ms: int = 20000) -> None:
    """A PNG of the page at ``size`` (width, height) pixels."""
    _run(
        binary, url, [f"--window-size={size[0]},{size[1]}", f"--screenshot={path}"], budget_ms, 120
    )


def main(argv=None) -> int:
    import argparse
    import shutil

    from cnnlab.serve.api import Lab

    p = argparse.ArgumentParser(description="screenshot of cnnlab serve's page")
    p.add_argument("out")
    p.add_argument("--runs", default="runs")
    p.add_argument("--checkpoint")
    p.add_argument("--size", default="1280x1500")
    args = p.parse_args(argv)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with serving(Lab(args.runs, args.checkpoint)) as url:
        w, h = (int(v) for v in args.size.split("x"))
        screenshot(binary, url, args.out, (w, h))
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
