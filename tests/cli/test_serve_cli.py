"""``cnnlab serve``: its argument errors, and a real server process answering on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

from cnnlab.cli.main import main


def test_bad_arguments(capsys, tmp_path):
    assert main(["serve", "--pretrained"]) == 2
    assert "--pretrained needs --model" in capsys.readouterr().err
    assert main(["serve", "--model", "no_such_net"]) == 2
    assert "no_such_net" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "missing.safetensors")]) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_the_address_and_answers(tmp_path):
    port = _free_port()
    cmd = [sys.executable, "-m", "cnnlab", "serve", "--model", "lenet5", "--port", str(port)]
    cmd += ["--runs", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=5) as r:
                    models = json.load(r)
                break
            except OSError:
                time.sleep(0.1)
        assert models["default"] == "zoo:lenet5"
        assert not list(tmp_path.iterdir())  # nothing written into the runs folder
    finally:
        proc.terminate()
        proc.wait(10)
