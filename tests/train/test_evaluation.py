"""evaluate (cnnlab/train/evaluation.py): accuracy per pixel for a segmenter's masks, and the
names that moved out of cnnlab.train.trainer still importable from it."""

import numpy as np
import pytest

from cnnlab import data, nn
from cnnlab.train import evaluation, metrics_log
from cnnlab.train.evaluation import evaluate


def test_evaluate_counts_pixels_for_a_segmenter():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((6, 3, 4, 5)).astype(np.float32)  # the "model" is identity
    masks = rng.integers(0, 3, (6, 4, 5))
    loader = data.DataLoader(data.TensorDataset(scores, masks), batch_size=4)
    res = evaluate(nn.Identity(), loader)
    assert res["n"] == 6
    assert res["acc"] == pytest.approx((scores.argmax(1) == masks).mean())


def test_moved_names_are_still_importable_from_the_trainer_module():
    from cnnlab.train.trainer import LOG_FIELDS, MetricsLog, evaluate

    assert evaluate is evaluation.evaluate
    assert MetricsLog is metrics_log.MetricsLog and LOG_FIELDS is metrics_log.LOG_FIELDS
