"""The training log (cnnlab/train/metrics_log.py): rows trimmed back to a step on resume."""

import pytest

from cnnlab.train.metrics_log import MetricsLog


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_metrics_log_trim_drops_the_rows_after_a_step(tmp_path, fmt):
    log = MetricsLog(tmp_path, fmt)
    for step in (100, 200, 250, 300, 400):
        log.write({"kind": "epoch" if step == 250 else "step", "epoch": 1, "step": step})
    assert log.trim(250) == 2
    log.write({"kind": "step", "epoch": 2, "step": 300})  # the resumed run logs again
    text = log.path.read_text()
    steps = [line for line in text.splitlines() if "300" in line or "400" in line]
    assert len(steps) == 1 and "400" not in text
    assert MetricsLog(None).trim(0) == 0
