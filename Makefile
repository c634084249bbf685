# The two commands of the README. Each does its own set-up first, skipping what is there.
PY ?= python3

.PHONY: setup train test lint bench notebooks

setup:  ## everything both commands need (skips what is there)
	bash scripts/setup.sh --test


train:  ## cnnlab's main job: train the default CNN on Fashion-MNIST
	bash scripts/setup.sh
	cnnlab train

test:  ## the test suite (slow tests excluded; run them with: $(PY) -m pytest -m slow)
	bash scripts/setup.sh --test
	ruff check .
	ruff format --check .
	$(PY) -m pytest -q

lint:
	ruff check . && ruff format --check .

bench:
	$(PY) -m benchmarks.ops

notebooks:  ## re-execute docs/lectures/*.ipynb in place, outputs saved (about 3 minutes)
	$(PY) scripts/run_notebooks.py
