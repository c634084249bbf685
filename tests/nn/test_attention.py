import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, seeded, torch
from tests.nn.layer_check import run_layer_test


def test_attention_layer_checks():
    rng = seeded(0)
    f = rng.standard_normal((2, 6, 5)).astype(np.float32)
    h = rng.standard_normal((2, 4)).astype(np.float32)
    layer = nn.AdditiveAttention(5, 4, 3)
    run_layer_test(
        layer,
        inputs=(f, h),
        expected_output_shape=(2, 5),
        expected_num_params=5 * 3 + 4 * 3 + 3 + 3,
    )
    context, alpha = layer(cnnlab.tensor(f), cnnlab.tensor(h))
    np.testing.assert_allclose(alpha.numpy().sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(
        context.numpy(), np.einsum("nl,nld->nd", alpha.numpy(), f), rtol=1e-5, atol=1e-6
    )
    keys = layer.keys(cnnlab.tensor(f))  # precomputed keys give the same result
    np.testing.assert_allclose(
        layer(cnnlab.tensor(f), cnnlab.tensor(h), keys)[1].numpy(), alpha.numpy()
    )


@requires_torch
def test_attention_layer_torch_parity():
    cnnlab.manual_seed(2)
    layer = nn.AdditiveAttention(5, 4, 3)
    rng = seeded(1)
    f = rng.standard_normal((3, 7, 5)).astype(np.float32)
    h = rng.standard_normal((3, 4)).astype(np.float32)
    tw = {k: torch.tensor(v, requires_grad=True) for k, v in layer.state_dict().items()}
    tf, th = torch.tensor(f, requires_grad=True), torch.tensor(h, requires_grad=True)
    keys = tf @ tw["key.weight"].T
    q = th @ tw["query.weight"].T + tw["query.bias"]
    ref_alpha = torch.softmax(torch.tanh(keys + q[:, None]) @ tw["v"], dim=1)
    ref_ctx = (ref_alpha[..., None] * tf).sum(1)
    cf, ch = cnnlab.tensor(f, requires_grad=True), cnnlab.tensor(h, requires_grad=True)
    ctx, alpha = layer(cf, ch)
    np.testing.assert_allclose(alpha.numpy(), ref_alpha.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ctx.numpy(), ref_ctx.detach().numpy(), rtol=1e-5, atol=1e-6)
    c1 = rng.standard_normal(ctx.shape).astype(np.float32)
    c2 = rng.standard_normal(alpha.shape).astype(np.float32)
    ((ctx * cnnlab.tensor(c1)).sum() + (alpha * cnnlab.tensor(c2)).sum()).backward()
    ((ref_ctx * torch.tensor(c1)).sum() + (ref_alpha * torch.tensor(c2)).sum()).backward()
    np.testing.assert_allclose(np.asarray(cf.grad), tf.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ch.grad), th.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(
            np.asarray(p.grad), tw[name].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name
        )


def test_bad_configuration_and_input_are_named():
    with pytest.raises(ValueError, match="AdditiveAttention: feature_size, query_size"):
        nn.AdditiveAttention(5, 0, 3)
    with pytest.raises(ValueError, match=r"AdditiveAttention: expected features \(N, L, 5\)"):
        nn.AdditiveAttention(5, 4, 3)(cnnlab.zeros(2, 6, 4), cnnlab.zeros(2, 4))
