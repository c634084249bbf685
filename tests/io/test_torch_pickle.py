import collections
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from cnnlab.io import UnsafePickleError, load_torch_checkpoint, weights_path
from tests.helpers import requires_torch, torch

FORMATS = ["zip", "legacy"]


def _save(obj, path, fmt):
    torch.save(obj, path, _use_new_zipfile_serialization=(fmt == "zip"))


def _to_numpy_tree(obj):
    """torch.load's result with tensors as arrays (bfloat16 widened, as our reader does)."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    if isinstance(obj, dict):
        return type(obj)((k, _to_numpy_tree(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_numpy_tree(v) for v in obj)
    return obj


def _assert_same(ours, ref, where="root"):
    assert type(ours) is type(ref), f"{where}: {type(ours)} vs {type(ref)}"
    if isinstance(ref, np.ndarray):
        assert ours.dtype == ref.dtype, f"{where}: dtype {ours.dtype} vs {ref.dtype}"
        assert ours.shape == ref.shape, f"{where}: shape {ours.shape} vs {ref.shape}"
        np.testing.assert_array_equal(ours, ref, err_msg=where)
    elif isinstance(ref, dict):
        assert list(ours) == list(ref), where
        for k in ref:
            _assert_same(ours[k], ref[k], f"{where}[{k!r}]")
    elif isinstance(ref, (list, tuple)):
        assert len(ours) == len(ref), where
        for i, (a, b) in enumerate(zip(ours, ref)):
            _assert_same(a, b, f"{where}[{i}]")
    else:
        assert ours == ref, where


def _example_checkpoint():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(4, 6, generator=g)
    sd = collections.OrderedDict(
        f32=torch.randn(2, 3, generator=g),
        f64=torch.randn(3, dtype=torch.float64, generator=g),
        f16=torch.randn(5, generator=g).half(),
        bf16=torch.randn(5, generator=g).bfloat16(),
        i64=torch.arange(-3, 7),
        i32=torch.arange(4, dtype=torch.int32),
        u8=torch.arange(250, 256, dtype=torch.uint8),
        i8=torch.tensor([-128, 0, 127], dtype=torch.int8),
        flag=torch.tensor([True, False, True]),
        transposed=base.t(),  # non-contiguous
        sliced=base[1:, 2:5:2],  # storage offset + strides
        shared=base,  # shares storage with the two views above
        scalar=torch.tensor(3.5),
        empty=torch.zeros(0, 3),
        param=torch.nn.Parameter(torch.ones(2, 2)),
        conv=torch.randn(3, 2, 3, 3, generator=g).permute(0, 1, 3, 2),
    )
    return {
        "state_dict": sd,
        "optimizer": {"step": 10, "lr": 0.1, "betas": (0.9, 0.999), "name": "adam", "x": None},
        "history": [base[0], {"nested": [sd["i64"], 1.5]}],
        "epoch": 3,
    }


@requires_torch
@pytest.mark.parametrize("fmt", FORMATS)
def test_matches_torch_load(tmp_path, fmt):
    path = tmp_path / f"ckpt_{fmt}.pt"
    _save(_example_checkpoint(), path, fmt)
    ours = load_torch_checkpoint(path)
    ref = _to_numpy_tree(torch.load(path, weights_only=True))
    _assert_same(ours, ref)
    assert isinstance(ours["state_dict"], collections.OrderedDict)
    assert ours["state_dict"]["transposed"].flags.c_contiguous
    assert ours["state_dict"]["bf16"].dtype == np.float32


@requires_torch
@pytest.mark.parametrize("fmt", FORMATS)
def test_bare_tensor_and_copies_are_independent(tmp_path, fmt):
    path = tmp_path / "t.pt"
    base = torch.arange(6.0).reshape(2, 3)
    _save([base, base.t()], path, fmt)
    a, b = load_torch_checkpoint(path)
    np.testing.assert_array_equal(b, base.t().numpy())
    a[0, 0] = 100.0  # storage sharing is not kept: each array is its own copy
    assert b[0, 0] == 0.0


@requires_torch
def test_real_efficientnet_lite0_weights_match_torch():
    try:
        path = weights_path("efficientnet_lite0")
    except FileNotFoundError:
        pytest.skip("EfficientNet-Lite0 weights not fetched (scripts/fetch_weights.sh)")
    ours = load_torch_checkpoint(path)
    ref = torch.load(path, weights_only=True, map_location="cpu")
    assert len(ours) == len(ref) == 296
    _assert_same(ours, _to_numpy_tree(ref))
    assert ours["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert ours["_fc.weight"].shape == (1000, 1280)


# ---- malicious and malformed files -------------------------------------------------------


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _write_zip(path, pkl: bytes, storages=None):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", "little")
        for key, raw in (storages or {}).items():
            zf.writestr(f"archive/data/{key}", raw)


def _write_legacy(path, pkl: bytes, storages=None):
    with open(path, "wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(pkl)
        pickle.dump(list(storages or {}), f, protocol=2)
        for raw in (storages or {}).values():
            f.write(struct.pack("<q", len(raw) // 4) + raw)


WRITERS = {"zip": _write_zip, "legacy": _write_legacy}


@pytest.mark.parametrize("fmt", FORMATS)
def test_refuses_os_system_and_runs_nothing(tmp_path, fmt):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    WRITERS[fmt](path, pickle.dumps({"w": _Evil(marker)}, protocol=2))
    expected = f"forbidden global '{os.system.__module__}.system'"
    with pytest.raises(UnsafePickleError, match=expected) as info:
        load_torch_checkpoint(path)
    assert str(path) in str(info.value)
    assert not marker.exists(), "the payload ran"
    pickle.loads(pickle.dumps(_Evil(marker), protocol=2))  # the payload itself is live
    assert marker.exists()


@requires_torch
def test_refuses_pickled_module(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(UnsafePickleError, match="torch.nn.modules.linear.Linear"):
        load_torch_checkpoint(path)


def _tensor_record(size, stride, offset=0, numel=6) -> bytes:
    """Protocol-2 pickle of {'w': _rebuild_tensor_v2(<FloatStorage '0'>, ...)} by hand."""

    def uni(s):
        return b"X" + struct.pack("<I", len(s)) + s.encode()

    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"

    pid = b"(" + uni("storage") + b"ctorch\nFloatStorage\n" + uni("0") + uni("cpu")
    pid += b"J" + struct.pack("<i", numel) + b"tQ"
    args = b"(" + pid + b"J" + struct.pack("<i", offset) + tup(size) + tup(stride)
    args += b"\x89ccollections\nOrderedDict\n)Rt"
    return b"\x80\x02}" + uni("w") + b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"Rs."


@pytest.mark.parametrize("fmt", FORMATS)
def test_hand_written_strided_record_without_torch(tmp_path, fmt):
    path = tmp_path / "strided.pt"
    raw = np.arange(6, dtype="<f4").tobytes()
    WRITERS[fmt](path, _tensor_record((2, 2), (1, 2), offset=1), {"0": raw})
    np.testing.assert_array_equal(load_torch_checkpoint(path)["w"], [[1, 3], [2, 4]])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("size,stride,offset", [((3,), (3,), 0), ((2, 2), (1, 2), 3)])
def test_refuses_tensor_outside_its_storage(tmp_path, fmt, size, stride, offset):
    path = tmp_path / "oob.pt"
    WRITERS[fmt](path, _tensor_record(size, stride, offset), {"0": bytes(24)})
    with pytest.raises(ValueError, match="exceeds its storage"):
        load_torch_checkpoint(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_storage(tmp_path, fmt):
    path = tmp_path / "short.pt"
    WRITERS[fmt](path, _tensor_record((6,), (1,)), {"0": bytes(24)})
    data = path.read_bytes()
    if fmt == "legacy":
        path.write_bytes(data[:-8])
    else:  # a zip member shorter than the storage it claims to be
        _write_zip(path, _tensor_record((6,), (1,), numel=8), {"0": bytes(24)})
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        load_torch_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"hello, not a checkpoint", b"PK\x03\x04garbage"])
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "junk.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="junk.pt"):
        load_torch_checkpoint(path)


# ---- fuzzing: truncated and corrupted files ------------------------------------------------


def _fuzz(tmp_path, fmt, cases: int, seed: int) -> None:
    """Truncate and corrupt a small valid file ``cases`` times: each result loads or is one
    ValueError line naming the file; never another exception."""
    from tests.io import malformed_torch as M

    src = tmp_path / f"src_{fmt}.pt"
    pkl = M.state(a=M.tensor((2, 3), (3, 1)), b=M.tensor((3,), (1,), offset=3))
    (M.write_zip if fmt == "zip" else M.write_legacy)(src, pkl, {"0": bytes(range(24))})
    good = src.read_bytes()
    rng = np.random.default_rng(seed)
    path = tmp_path / f"fuzz_{fmt}.pt"
    for i in range(cases):
        data = bytearray(good[: rng.integers(0, len(good))] if i % 2 else good)
        for _ in range(rng.integers(1, 4) if i % 2 == 0 else 0):
            data[rng.integers(0, len(data))] = rng.integers(0, 256)
        path.write_bytes(bytes(data))
        try:
            load_torch_checkpoint(path)
        except (ValueError, UnsafePickleError) as e:
            assert str(path) in str(e) and "\n" not in str(e), (i, str(e))


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_and_corrupted_files_fail_in_one_line(tmp_path, fmt):
    _fuzz(tmp_path, fmt, 60, 0)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_many_truncated_and_corrupted_files(tmp_path, fmt):
    _fuzz(tmp_path, fmt, 5000, 1)
