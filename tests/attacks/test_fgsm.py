"""FGSM and PGD: parity with a PyTorch-autograd reference, bounds, honesty, and PGD on the
trained Fashion-MNIST LeNet-5."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.attacks import fgsm, pgd, project
from tests.attacks.toys import images, tiny_cnn
from tests.helpers import requires_torch, torch

EPS = {"inf": 0.05, "2": 0.5}


def torch_twin(model):
    """The same tiny conv net in PyTorch, sharing the weights (float64)."""
    tn = torch.nn
    twin = tn.Sequential(
        tn.Conv2d(1, 4, 3, padding=1),
        tn.ReLU(),
        tn.MaxPool2d(2),
        tn.Flatten(),
        tn.Linear(16 * 4, 5),
    ).double()
    conv, lin = model[0], model[4]
    with torch.no_grad():
        for tl, cl in ((twin[0], conv), (twin[4], lin)):
            tl.weight.copy_(torch.from_numpy(np.asarray(cl.weight.array, np.float64)))
            tl.bias.copy_(torch.from_numpy(np.asarray(cl.bias.array, np.float64)))
    return twin.eval()


def torch_step(twin, x, y, norm, targeted):
    """The steepest-ascent direction of the attack's loss, by torch.autograd."""
    xt = x.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(twin(xt), y, reduction="sum")
    (g,) = torch.autograd.grad(-loss if targeted else loss, xt)
    if norm == "inf":
        return g.sign()
    return g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)


def torch_pgd(twin, x, y, eps, alpha, steps, norm, targeted, delta0):
    x = torch.from_numpy(x)
    y = torch.from_numpy(y)
    delta = (x + torch.from_numpy(delta0)).clamp(0, 1) - x
    for _ in range(steps):
        delta = delta + alpha * torch_step(twin, x + delta, y, norm, targeted)
        if norm == "inf":
            delta = delta.clamp(-eps, eps)
        else:
            n = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            delta = delta * torch.clamp(eps / n.clamp_min(1e-12), max=1.0)
        delta = (x + delta).clamp(0, 1) - x
    return (x + delta).clamp(0, 1).numpy()


@requires_torch
@pytest.mark.parametrize("norm", ["inf", "2"])
@pytest.mark.parametrize("targeted", [False, True])
def test_fgsm_matches_torch(norm, targeted):
    model = tiny_cnn().double()
    x = images(6).astype(np.float64)
    y = np.array([0, 1, 2, 3, 4, 0])
    target = (y + 1) % 5 if targeted else None
    r = fgsm(model, x, y, eps=EPS[norm], norm=norm, target=target)
    twin = torch_twin(model)
    goal = torch.from_numpy(target if targeted else y)
    ref = (
        (
            torch.from_numpy(x)
            + EPS[norm] * torch_step(twin, torch.from_numpy(x), goal, norm, targeted)
        )
        .clamp(0, 1)
        .numpy()
    )
    np.testing.assert_allclose(r.x_adv, ref, rtol=0, atol=1e-10)


@requires_torch
@pytest.mark.parametrize("norm", ["inf", "2"])
@pytest.mark.parametrize("targeted", [False, True])
def test_pgd_with_random_start_matches_torch(norm, targeted):
    model = tiny_cnn().double()
    x = images(6).astype(np.float64)
    y = np.array([0, 1, 2, 3, 4, 0])
    target = (y + 2) % 5 if targeted else None
    eps, steps = EPS[norm], 5
    r = pgd(
        model,
        x,
        y,
        eps=eps,
        alpha=eps / 3,
        steps=steps,
        norm=norm,
        target=target,
        rng=np.random.default_rng(7),
    )
    # the same random start, drawn from the same generator
    g = np.random.default_rng(7)
    if norm == "inf":
        d0 = g.uniform(-eps, eps, size=x.shape)
    else:
        d0 = g.standard_normal(size=x.shape)
        d0 /= np.sqrt((d0.reshape(6, -1) ** 2).sum(1)).reshape(-1, 1, 1, 1)
        d0 *= eps * g.uniform(0, 1, size=(6, 1, 1, 1)) ** (1.0 / x[0].size)
    twin = torch_twin(model)
    ref = torch_pgd(twin, x, target if targeted else y, eps, eps / 3, steps, norm, targeted, d0)
    np.testing.assert_allclose(r.x_adv, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", [fgsm, pgd])
@pytest.mark.parametrize("norm", ["inf", "2"])
@pytest.mark.parametrize("bounds", [(0.0, 1.0), (-1.0, 2.0)])
def test_results_stay_in_bounds_and_in_the_ball(method, norm, bounds):
    model = tiny_cnn()
    lo, hi = bounds
    x = (lo + (hi - lo) * images(8)).astype(np.float32)
    x[:, :, :2] = lo  # pixels on the bounds, where a step would leave them
    x[:, :, -2:] = hi
    eps = 0.3 if norm == "inf" else 2.0
    r = method(model, x, eps=eps, norm=norm, bounds=bounds)
    assert r.x_adv.min() >= lo and r.x_adv.max() <= hi
    limit = r.linf if norm == "inf" else r.l2
    assert (limit <= eps + 1e-5).all()


def test_project_scales_into_the_l2_ball_and_clips_into_the_linf_ball():
    d = np.array([[[[3.0, 4.0]]], [[[0.3, 0.4]]]])
    np.testing.assert_allclose(project(d, 1.0, "2"), [[[[0.6, 0.8]]], [[[0.3, 0.4]]]])
    np.testing.assert_allclose(project(d, 0.35, "inf"), [[[[0.35, 0.35]]], [[[0.3, 0.35]]]])


def test_a_failed_attack_is_reported_as_failed():
    model = tiny_cnn()
    x = images(8)
    r = pgd(model, x, eps=0.0, steps=2)
    assert not r.success.any() and r.success_rate == 0.0
    np.testing.assert_array_equal(r.x_adv, x)
    # success is judged on the returned inputs, not claimed by the attack
    r = fgsm(model, x, eps=0.2)
    np.testing.assert_array_equal(r.success, r.adv_pred != r.labels)


def test_fgsm_and_pgd_reject_out_of_bounds_inputs_bad_norm_and_negative_eps():
    model = tiny_cnn()
    with pytest.raises(ValueError, match="bounds"):
        fgsm(model, images(2) + 1.5, eps=0.1)
    with pytest.raises(ValueError, match="norm"):
        pgd(model, images(2), eps=0.1, norm="1")
    with pytest.raises(ValueError, match="eps"):
        fgsm(model, images(2), eps=-1)


def test_model_is_left_in_its_mode():
    model = tiny_cnn().train()
    fgsm(model, images(2), eps=0.1)
    assert model.training


def test_pgd_breaks_the_fashion_model(fashion_all):
    model, x, y = fashion_all
    x, y = x[:200], y[:200]  # the first 200 test images, as they come
    r = pgd(model, x, y, eps=0.1, alpha=0.02, steps=20, rng=np.random.default_rng(0))
    print(f"PGD eps=0.1 L∞: accuracy {r.clean_accuracy:.3f} -> {r.adv_accuracy:.3f}")
    assert r.clean_accuracy > 0.7
    assert r.adv_accuracy < 0.10  # measured 0.08 with this model and seed
    assert (r.linf <= 0.1 + 1e-6).all()
    f = fgsm(model, x, y, eps=0.1)
    assert f.adv_accuracy > r.adv_accuracy  # one step is weaker than twenty
