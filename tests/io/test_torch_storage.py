"""The bound on what reading a hostile ``.pth`` may allocate (cnnlab/io/torch_storage.py):
zip bombs, stride tricks, overlapping views, deep nesting and huge headers are refused in one
line naming the file, before their memory is allocated; peak RSS is measured in a child."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from cnnlab.io import load_torch_checkpoint
from cnnlab.io.torch_storage import MAX_DEPTH
from tests.io import malformed_torch as M

PEAK = """
import json, resource, sys
import numpy
from cnnlab.io import load_torch_checkpoint
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = []
for path in sys.argv[1:]:
    try:
        load_torch_checkpoint(path)
        out.append("loaded")
    except ValueError as e:
        out.append(str(e))
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
print(json.dumps({"messages": out, "peak": peak}))
"""


def _peak(paths) -> dict:
    """Load each file in one child process: its messages and its peak RSS growth in bytes."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *map(str, paths)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    files = {
        "bomb.pt": "inflates .* a zip bomb",  # 128 MiB of zeros in ~130 kB
        "stride.pt": "overlapping strides are refused",  # 16384 x 16384 over 4 bytes
        "views.pt": "reusing the same data more than 2 times",
        "huge.pt": "storage truncated",  # a legacy storage of 2^40 floats
        "deep.pt": f"nested deeper than {MAX_DEPTH} levels",
        "bigpickle.pt": "data.pkl inflates",
    }
    M.zip_bomb(d / "bomb.pt", 128 * 1024**2)
    M.stride_trick(d / "stride.pt")
    M.views(d / "views.pt")
    M.legacy_huge(d / "huge.pt")
    M.write_legacy(d / "deep.pt", M.nested(20_000))
    with zipfile.ZipFile(d / "bigpickle.pt", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02]" + b"\x00" * (64 * 1024**2))
    return {d / name: match for name, match in files.items()}


def test_hostile_files_are_refused_within_a_memory_ceiling(hostile):
    import re

    result = _peak(hostile)
    for (path, match), msg in zip(hostile.items(), result["messages"]):
        assert re.search(match, msg), (path.name, msg)
        assert str(path) in msg and "\n" not in msg
    # before: the 128 MiB bomb took 256 MB, the stride trick 1 GiB, the views 260 MB
    assert result["peak"] < 32 * 1024**2, result["peak"]


@pytest.mark.slow
def test_a_1_gib_zip_bomb_is_refused_without_inflating(tmp_path):
    path = tmp_path / "bomb.pt"
    M.zip_bomb(path, 1024**3)  # 1 MB on disk; loaded with 2.09 GB RSS before
    result = _peak([path])
    assert "a zip bomb" in result["messages"][0] and result["peak"] < 32 * 1024**2


def test_only_the_part_of_a_storage_its_tensors_use_is_read(tmp_path):
    # a 16 MiB storage of which the tensor views 4 floats: 16 bytes are read
    path = tmp_path / "part.pt"
    raw = np.arange(4 * 1024**2, dtype="<f4").tobytes()
    M.write_zip(path, M.state(w=M.tensor((2, 2), (2, 1), numel=4 * 1024**2)), {"0": raw})
    np.testing.assert_array_equal(load_torch_checkpoint(path)["w"], [[0, 1], [2, 3]])
    assert _peak([path])["peak"] < 8 * 1024**2


def test_the_same_tensor_twice_is_one_array_and_tied_views_pass(tmp_path):
    path = tmp_path / "tied.pt"
    t = M.tensor((2, 3), (3, 1))
    pkl = b"\x80\x02}" + M._str("a") + t + b"q\x01s" + M._str("b") + b"h\x01s."
    M.write_zip(path, pkl, {"0": np.arange(6, dtype="<f4").tobytes()})
    out = load_torch_checkpoint(path)
    assert out["a"] is out["b"]  # one pending tensor (pickle memo), one array
    two = M.state(a=M.tensor((2, 3), (3, 1)), b=M.tensor((3, 2), (1, 3)))  # w and w.t()
    M.write_zip(path, two, {"0": np.arange(6, dtype="<f4").tobytes()})
    out = load_torch_checkpoint(path)
    np.testing.assert_array_equal(out["b"], out["a"].T)


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_a_storage_larger_than_its_file_or_member_is_refused(tmp_path, fmt):
    path = tmp_path / "lie.pt"
    pkl = M.state(w=M.tensor((6,), (1,), numel=1000))
    if fmt == "zip":
        M.write_zip(path, pkl, {"0": bytes(24)})
    else:
        M.write_legacy(path, pkl, {"0": bytes(24)}, {"0": 1000})
    with pytest.raises(ValueError, match=r"lie\.pt: storage truncated"):
        load_torch_checkpoint(path)


def test_nesting_up_to_the_limit_loads(tmp_path):
    path = tmp_path / "nested.pt"
    M.write_legacy(path, M.nested(MAX_DEPTH))
    out = load_torch_checkpoint(path)
    for _ in range(MAX_DEPTH - 1):
        out = out[0]
    assert out == []


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_a_pickle_of_too_many_operations_is_refused(tmp_path, fmt, monkeypatch):
    from cnnlab.io import torch_pickle

    monkeypatch.setattr(torch_pickle, "MAX_PICKLE_OPS", 1000)
    path = tmp_path / "objects.pt"
    pkl = b"\x80\x02(" + b"]" * 2000 + b"l."  # a list of 2,000 lists: 2,004 operations
    (M.write_zip if fmt == "zip" else M.write_legacy)(path, pkl)
    with pytest.raises(ValueError, match=r"objects\.pt: its pickle has more than 1000 operations"):
        load_torch_checkpoint(path)
    monkeypatch.setattr(torch_pickle, "MAX_PICKLE_OPS", 2004)
    assert len(load_torch_checkpoint(path)) == 2000


@pytest.mark.slow
def test_eight_megabytes_of_empty_lists_stay_under_the_ceiling(tmp_path):
    path = tmp_path / "lists.pt"
    M.write_zip(path, b"\x80\x02(" + b"]" * (8 * 1024**2) + b"l.")  # 2 GB of objects before
    result = _peak([path])
    assert "more than 2000000 operations" in result["messages"][0]
    assert result["peak"] < 400 * 1024**2, result["peak"]
