"""The PyTorch programs of ``tests/torch_compat/programs/`` under real PyTorch and under
``cnnlab run``: same program, same data, same epochs and seeds; accuracy and wall time.

    python -m benchmarks.torch_programs --torch-python /work/venv-tv/bin/python \
        [--seeds 0 1 2] [--only quickstart,resnet_tutorial] [--threads 1] [--markdown]

``--torch-python`` is an interpreter with real ``torch`` and ``torchvision`` (a virtual
environment of its own, so the test suite's PyTorch stays as it is). The data are laid out
the way torchvision's classes look for them, under ``--workdir``: Fashion-MNIST decompressed
into ``data/FashionMNIST/raw``, and the installed 10,000-digit MNIST subset written as IDX
files into ``data/MNIST/raw`` (8,000 train, 2,000 test), so ``download=True`` finds them
present on both sides and nothing is downloaded. Each program runs in ``workdir/run`` (its
``data``, ``./data`` and ``../data`` all lead there) in a fresh process per seed.

The random streams differ (NumPy's against PyTorch's), so the same seed gives other weights
and another data order: compare the means against the spread over seeds, not run by run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "torch_compat" / "programs"

# program -> its budget flags (the programs' own epochs; more data than the tests' tiny runs)
BUDGETS = {
    "quickstart": ["--train-size", "6000", "--test-size", "2000"],
    "optimization": ["--train-size", "6000", "--test-size", "2000"],
    "mnist_example": ["--train-size", "4000", "--test-size", "2000"],
    "community_cnn": ["--train-size", "4000"],
    "cifar10_tutorial": ["--train-size", "3000", "--test-size", "1000"],
    "resnet_tutorial": ["--train-size", "2000", "--test-size", "1000"],
    "lstm_classifier": ["--train-size", "4000", "--test-size", "1000"],
    "custom_dataset": ["--train-size", "2000"],
    "finetune": ["--train-size", "1000", "--test-size", "500"],
}


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file: magic (0, 0, uint8 code 8, ndim), big-endian int32 lengths, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    path.write_bytes(header + np.ascontiguousarray(array, np.uint8).tobytes())


def prepare(workdir: Path) -> Path:
    """Lay the installed data out as torchvision expects it; the folder programs run in."""
    from cnnlab.data.datasets import MNISTSubset
    from cnnlab.data.datasets.paths import FASHION_MNIST_SYSTEM_DIR

    data = workdir / "data"
    fashion = data / "FashionMNIST" / "raw"
    fashion.mkdir(parents=True, exist_ok=True)
    for gz in FASHION_MNIST_SYSTEM_DIR.glob("*-ubyte.gz"):
        out = fashion / gz.name[: -len(".gz")]
        if not out.is_file():
            with gzip.open(gz, "rb") as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
    mnist = data / "MNIST" / "raw"
    mnist.mkdir(parents=True, exist_ok=True)
    for split, train in (("train", True), ("t10k", False)):
        if not (mnist / f"{split}-labels-idx1-ubyte").is_file():
            ds = MNISTSubset(train=train)
            _write_idx(mnist / f"{split}-images-idx3-ubyte", np.asarray(ds.data))
            _write_idx(mnist / f"{split}-labels-idx1-ubyte", np.asarray(ds.targets))
    run = workdir / "run"
    run.mkdir(exist_ok=True)
    if not (run / "data").exists():
        (run / "data").symlink_to(data)
    return run


def run_once(command: list, cwd: Path, env: dict) -> tuple[float, float]:
    """(accuracy, wall seconds) of one program run; raises with its stderr if it failed."""
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    return float(json.loads(lines[-1][len("RESULT ") :])["accuracy"]), wall


def _stats(values: list) -> str:
    a = np.asarray(values) * 100
    spread = f" ± {a.std(ddof=1):.1f}" if len(a) > 1 else ""
    return f"{a.mean():.1f}{spread}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", required=True, help="python with torch+torchvision")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", default=",".join(BUDGETS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp") / "cnnlab-torch-programs")
    parser.add_argument("--json", type=Path, default=None, help="also write the runs here")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(BUDGETS))
    if unknown:
        parser.error(f"--only: unknown program(s) {unknown}; expected some of {list(BUDGETS)}")
    run_dir = prepare(args.workdir)
    threads = str(args.threads)
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    base.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, CNNLAB_NUM_THREADS=threads)
    ours_env = {**base, "PYTHONPATH": str(ROOT)}
    runs = {}
    for name in names:
        program = [str(PROGRAMS / f"{name}.py"), *BUDGETS[name]]
        runs[name] = {"torch": [], "cnnlab": []}
        for seed in args.seeds:
            seed_flag = ["--seed", str(seed)]
            theirs = run_once([args.torch_python, *program, *seed_flag], run_dir, base)
            ours = run_once(
                [sys.executable, "-m", "cnnlab.run", *program, *seed_flag], run_dir, ours_env
            )
            runs[name]["torch"].append(theirs)
            runs[name]["cnnlab"].append(ours)
            print(
                f"{name} seed {seed}: PyTorch {theirs[0]:.4f} ({theirs[1]:.1f} s), "
                f"cnnlab {ours[0]:.4f} ({ours[1]:.1f} s)",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    header = ["program", "budget", "PyTorch acc %", "cnnlab acc %", "PyTorch s", "cnnlab s"]
    rows = []
    for name, r in runs.items():
        t, c = np.asarray(r["torch"]), np.asarray(r["cnnlab"])
        rows.append(
            [
                name,
                " ".join(BUDGETS[name]).replace("--", ""),
                _stats(t[:, 0]),
                _stats(c[:, 0]),
                f"{t[:, 1].mean():.1f}",
                f"{c[:, 1].mean():.1f}",
            ]
        )
    print(f"\n{len(args.seeds)} seeds ({args.seeds}), {args.threads} thread(s); mean ± std")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for row in [header, *rows]:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


if __name__ == "__main__":
    main()
