"""``python -m benchmarks [ops|train_step] [args]``: run one benchmark (default: train_step)."""

import sys

from benchmarks import ops, train_step

if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "train_step"
    rest = sys.argv[2:] if len(sys.argv) > 1 and sys.argv[1] == which else sys.argv[1:]
    {"ops": ops.main, "train_step": train_step.main}[which](rest)
