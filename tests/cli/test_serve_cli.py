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
    assert main(["serve", "--script", "tutorial.py"]) == 2
    assert "--script needs a CHECKPOINT" in capsys.readouterr().err


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


def test_port_zero_prints_the_port_it_got(tmp_path):
    # regression: --port 0 printed "127.0.0.1:0" instead of the free port the system chose
    cmd = [sys.executable, "-m", "cnnlab", "serve", "--model", "lenet5", "--port", "0"]
    cmd += ["--runs", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        import re

        line = proc.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=10) as r:
            assert json.load(r)["default"] == "zoo:lenet5"  # bound before the line was printed
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_port_in_use_is_one_line(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert (
            main(["serve", "--model", "lenet5", "--port", str(taken), "--runs", str(tmp_path)]) == 2
        )
    err = capsys.readouterr().err
    assert f"can't listen on 127.0.0.1:{taken}" in err and len(err.strip().splitlines()) == 1


def test_serve_on_every_address_warns_and_needs_its_token(tmp_path):
    import re
    import urllib.error

    port = _free_port()
    cmd = [sys.executable, "-m", "cnnlab", "serve", "--model", "lenet5", "--port", str(port)]
    cmd += ["--runs", str(tmp_path), "--host", "0.0.0.0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        warning = proc.stderr.readline()
        assert "warning: --host 0.0.0.0" in warning and "token" in warning
        line = proc.stdout.readline()
        token = re.search(rf"http://0\.0\.0\.0:{port}/\?token=([\w-]+)", line).group(1)
        assert len(token) >= 40
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/api/models", timeout=5)
                raise AssertionError("answered without the token")
            except urllib.error.HTTPError as e:
                assert e.code == 403 and "token" in json.load(e)["error"]
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        req = urllib.request.Request(
            f"{base}/api/models", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            assert json.load(r)["default"] == "zoo:lenet5"
    finally:
        proc.terminate()
        proc.wait(10)


def test_bad_serve_values_name_the_option(capsys):
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["serve", "--memory-budget", "0"]) == 2
    assert "--memory-budget" in capsys.readouterr().err
