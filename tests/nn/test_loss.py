"""Loss layers (cnnlab/nn/layers/loss.py): BCELoss with a weight against PyTorch."""

import numpy as np

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, torch


@requires_torch
def test_bce_loss_matches_torch_with_weight_and_gradchecks():
    from tests.helpers import torch_parity

    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.95, (4, 3))
    t, w = rng.integers(0, 2, (4, 3)).astype(np.float32), rng.random(3).astype(np.float32)
    for reduction in ("mean", "sum", "none"):
        torch_parity(
            lambda x, r=reduction: nn.BCELoss(weight=cnnlab.tensor(w), reduction=r)(
                x, cnnlab.tensor(t)
            ),
            lambda x, r=reduction: torch.nn.BCELoss(weight=torch.tensor(w), reduction=r)(
                x, torch.tensor(t)
            ),
            [p.astype(np.float32)],
        )
    t64 = cnnlab.tensor(t.astype(np.float64))
    assert cnnlab.gradcheck(lambda x: nn.BCELoss()(x, t64), [cnnlab.tensor(p)])
