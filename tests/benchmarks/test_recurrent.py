"""benchmarks.recurrent times only pairs that agree (never its timings: those are its job)."""

import numpy as np
import pytest

from tests.helpers import requires_torch


@requires_torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_pairs_agree_and_a_changed_pair_is_refused(kind):
    from benchmarks.recurrent import _check, _pair, _runs

    x = np.random.default_rng(0).standard_normal((4, 3, 6)).astype(np.float32)
    ours, theirs = _pair(kind, 6, 8)
    _check(kind, *_runs(ours, theirs, x, backward=True))
    ours.weight_hh_l0.array[0, 0] += 1.0
    with pytest.raises(SystemExit, match="disagree"):
        _check(kind, *_runs(ours, theirs, x, backward=True))
