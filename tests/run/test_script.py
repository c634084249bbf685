"""``cnnlab run``: scripts run unchanged; what cnnlab lacks is one line with the script's line."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cnnlab.run import run_script

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, body: str) -> Path:
    p = tmp_path / "script.py"
    p.write_text(textwrap.dedent(body))
    return p


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "import torch\nx = torch.ones(2)\ny = torch.frobnicate(x)\n",
            "torch.frobnicate (script.py:3)",
        ),
        ("import torch.distributions\n", "torch.distributions (script.py:1)"),
        ("from torch.nn import NoSuchLayer\n", "torch.nn.NoSuchLayer (script.py:1)"),
        (
            "import torch\n\nt = torch.ones(2)\nt.frobnicate_()\n",
            "torch.Tensor.frobnicate_ (script.py:4)",
        ),
        (
            "import torch\nz = torch.zeros(2, no_such_kw=1)\n",
            "torch.zeros(no_such_kw=...) (script.py:2)",
        ),
        (
            "import torchvision.transforms as T\nT.NoSuchTransform()\n",
            "torchvision.transforms.NoSuchTransform (script.py:2)",
        ),
    ],
)
def test_missing_feature_is_one_line_and_exit_1(tmp_path, capsys, body, message):
    assert run_script(write(tmp_path, body)) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"cnnlab has no {message}"


def test_the_scripts_own_errors_keep_their_traceback(tmp_path, capsys):
    body = "def f(a):\n    return a\nf(1, b=2)\n"
    assert run_script(write(tmp_path, body)) == 1
    assert "Traceback" in capsys.readouterr().err
    assert run_script(write(tmp_path, "raise SystemExit(3)\n")) == 3
    assert run_script(tmp_path / "missing.py") == 2


def test_cli_and_module_entry_points_pass_arguments(tmp_path):
    script = write(
        tmp_path,
        """
        import sys
        import torch
        print(torch.__name__, sys.argv[1:], __name__)
        """,
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    for cmd in (["-m", "cnnlab", "run"], ["-m", "cnnlab.run"]):
        out = subprocess.run(
            [sys.executable, *cmd, str(script), "--lr", "1"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "cnnlab ['--lr', '1'] __main__"
