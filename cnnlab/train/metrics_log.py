"""The training log: one row per epoch (and every ``log_every`` steps) appended to
``metrics.csv`` or ``metrics.jsonl``, and trimmed back to a step when a run resumes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

__all__ = ["LOG_FIELDS", "MetricsLog"]

LOG_FIELDS = [
    "kind",
    "epoch",
    "step",
    "lr",
    "loss",
    "acc",
    "val_loss",
    "val_acc",
    "img_per_s",
    "time_s",
]


class MetricsLog:
    """Appends rows to ``metrics.csv`` or ``metrics.jsonl`` (columns: :data:`LOG_FIELDS`)."""

    def __init__(self, out_dir: Path | None, log_format: str = "csv", fields=None) -> None:
        if log_format not in ("csv", "jsonl"):
            raise ValueError(f"Trainer: log_format must be 'csv' or 'jsonl', got {log_format!r}")
        self.format = log_format
        self.fields = list(fields or LOG_FIELDS)
        self.path = None if out_dir is None else Path(out_dir) / f"metrics.{log_format}"

    def write(self, row: dict) -> None:
        if self.path is None:
            return
        row = {k: row.get(k, "") for k in self.fields}
        new = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            if self.format == "jsonl":
                f.write(json.dumps({k: v for k, v in row.items() if v != ""}) + "\n")
            else:
                writer = csv.DictWriter(f, fieldnames=self.fields)
                if new:
                    writer.writeheader()
                writer.writerow(row)

    def trim(self, step: int) -> int:
        """Drop the rows logged after optimiser step ``step`` (a resumed run repeats them);
        returns how many went."""
        if self.path is None or not self.path.exists():
            return 0
        with open(self.path, newline="") as f:
            if self.format == "jsonl":
                rows = [json.loads(line) for line in f if line.strip()]
            else:
                rows = list(csv.DictReader(f))
        keep = [r for r in rows if str(r.get("step", "")) == "" or int(r["step"]) <= step]
        self.path.unlink()
        for r in keep:
            self.write(r)
        return len(rows) - len(keep)
