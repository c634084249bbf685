"""GradScaler against torch.amp.GradScaler("cpu"): the same scale and parameters, step by
step, with inf gradients injected; the CUDA scaler disables itself without a GPU."""

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, torch


def trajectory(lib, make_scaler, linear, bad_steps, steps=7):
    w0 = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    model = linear(3, 2)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(w0))
        model.bias.zero_()
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = make_scaler()
    x = lib.tensor(np.linspace(0, 1, 12, dtype=np.float32).reshape(4, 3))
    out = []
    for i in range(steps):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        scaler.scale(loss).backward()
        if i in bad_steps:
            with lib.no_grad():
                model.bias.grad.fill_(float("inf"))
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        out.append((scaler.get_scale(), model.weight.detach().numpy().copy()))
    return out


@requires_torch
def test_scale_and_steps_follow_torch():
    def ours():
        return cnnlab.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)

    def theirs():
        return torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)

    a = trajectory(cnnlab, ours, nn.Linear, bad_steps={1, 4})
    b = trajectory(torch, theirs, torch.nn.Linear, bad_steps={1, 4})
    for (sa, wa), (sb, wb) in zip(a, b):
        assert sa == sb
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert [s for s, _ in a] == [1024.0, 512.0, 512.0, 1024.0, 512.0, 512.0, 1024.0]


def test_disabled_scaler_passes_through_and_cuda_without_gpu_disables():
    scaler = cnnlab.amp.GradScaler("cpu", enabled=False)
    loss = cnnlab.tensor(2.0)
    assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    if not cnnlab.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            cuda_scaler = cnnlab.cuda.amp.GradScaler()
        assert not cuda_scaler.is_enabled()


def test_unscale_twice_and_state_round_trip():
    model = nn.Linear(2, 1)
    opt = cnnlab.optim.SGD(model.parameters(), lr=0.1)
    scaler = cnnlab.amp.GradScaler("cpu", init_scale=8.0)
    scaler.scale(model(cnnlab.ones(1, 2)).sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    other = cnnlab.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == 8.0


def test_autocast_is_accepted_and_casts_nothing():
    x = cnnlab.randn(2, 3)
    with cnnlab.autocast(device_type="cpu", dtype=cnnlab.float16):
        y = x @ x.t()
    assert y.dtype == np.float32

    @cnnlab.cuda.amp.autocast()
    def f(t):
        return t * 2

    assert f(x).dtype == np.float32
    with pytest.raises(ValueError, match="autocast: expected device_type one of"):
        cnnlab.autocast("gpu")
