"""Learning-rate schedulers: lr sequences against torch.optim.lr_scheduler, and exact resume."""

import numpy as np
import pytest

import cnnlab
from cnnlab.nn.parameter import Parameter
from cnnlab.optim import SGD, Adam
from cnnlab.optim.lr_scheduler import (
    LinearLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from tests.helpers import requires_torch, torch
from tests.optim.test_sgd import assert_exact_resume

STEPS = 40
BASE_LRS = (0.1, 0.03)  # two parameter groups with different lrs

SCHEDULERS = {
    "step": lambda s, o: s.StepLR(o, step_size=7, gamma=0.5),
    "multistep": lambda s, o: s.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3),
    "exponential": lambda s, o: s.ExponentialLR(o, gamma=0.9),
    "cosine": lambda s, o: s.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "cosine_odd": lambda s, o: s.CosineAnnealingLR(o, T_max=7),
    "linear": lambda s, o: s.LinearLR(o, start_factor=0.1, total_iters=5),
    "linear_down": lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=8),
    "lambda": lambda s, o: s.LambdaLR(o, lambda e: 0.95**e),
    "lambda_per_group": lambda s, o: s.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.9**e]),
    "warmup_cosine": lambda s, o: s.SequentialLR(
        o,
        [s.LinearLR(o, start_factor=0.1, total_iters=5), s.CosineAnnealingLR(o, T_max=25)],
        milestones=[5],
    ),
    "sequential_3": lambda s, o: s.SequentialLR(
        o,
        [
            s.LinearLR(o, start_factor=0.25, total_iters=3),
            s.StepLR(o, step_size=4, gamma=0.5),
            s.CosineAnnealingLR(o, T_max=6, eta_min=0.002),
        ],
        milestones=[3, 15],
    ),
    "multiplicative": lambda s, o: s.MultiplicativeLR(o, lambda e: 0.9 if e % 3 else 1.05),
    "polynomial": lambda s, o: s.PolynomialLR(o, total_iters=30, power=2.0),
    "chained_constant_exponential": lambda s, o: s.ChainedScheduler(
        [s.ConstantLR(o, factor=0.5, total_iters=4), s.ExponentialLR(o, gamma=0.9)]
    ),
    "cyclic": lambda s, o: s.CyclicLR(
        o, base_lr=0.01, max_lr=[0.1, 0.05], step_size_up=5, step_size_down=3
    ),
    "cyclic_triangular2": lambda s, o: s.CyclicLR(
        o, 0.01, 0.1, step_size_up=4, mode="triangular2", cycle_momentum=False
    ),
    "cyclic_exp_range": lambda s, o: s.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.97
    ),
    "cyclic_scale_fn": lambda s, o: s.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 0.9**x, scale_mode="iterations"
    ),
    "one_cycle": lambda s, o: s.OneCycleLR(o, max_lr=[0.1, 0.05], total_steps=45),
    "one_cycle_three_phase_linear": lambda s, o: s.OneCycleLR(
        o, 0.2, epochs=5, steps_per_epoch=9, three_phase=True, anneal_strategy="linear"
    ),
    "warm_restarts": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=1e-3),
    "warm_restarts_t_mult_1": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=6),
}

PLATEAUS = {
    "min_rel": dict(mode="min", factor=0.5, patience=2),
    "min_abs_cooldown": dict(
        factor=0.3, patience=1, threshold=0.05, threshold_mode="abs", cooldown=2, min_lr=0.005
    ),
    "max_rel": dict(mode="max", factor=0.7, patience=3, threshold=0.01, min_lr=[0.02, 0.001]),
}


def metrics():
    """A noisy, mostly flattening loss curve."""
    rng = np.random.default_rng(5)
    t = np.arange(STEPS)
    return (1.0 / (1 + 0.3 * t) + 0.05 * rng.standard_normal(STEPS)).tolist()


def lr_sequence(lib, make_sched, plateau: bool = False, steps: int = STEPS):
    """Learning rates of both groups after construction and after each ``step()``."""
    if lib == "torch":
        p, q = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
        optim, sched_mod = torch.optim, torch.optim.lr_scheduler
    else:
        p, q = Parameter(np.zeros(2)), Parameter(np.zeros(3))
        optim, sched_mod = cnnlab.optim, cnnlab.optim.lr_scheduler
    opt = optim.SGD([{"params": [p]}, {"params": [q], "lr": BASE_LRS[1]}], lr=BASE_LRS[0])
    sched = make_sched(sched_mod, opt)
    seq = [[g["lr"] for g in opt.param_groups]]
    for metric in metrics()[:steps]:
        opt.step()
        sched.step(metric) if plateau else sched.step()
        seq.append([g["lr"] for g in opt.param_groups])
        assert list(sched.get_last_lr()) == seq[-1]
    return np.array(seq)


@requires_torch
@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_matches_torch(name):
    ours = lr_sequence("cnnlab", SCHEDULERS[name])
    theirs = lr_sequence("torch", SCHEDULERS[name])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    assert len(np.unique(ours[:, 0])) > 3, "the schedule should change the lr"


@requires_torch
@pytest.mark.parametrize("name", PLATEAUS)
def test_reduce_on_plateau_matches_torch(name):
    kw = PLATEAUS[name]

    def make(s, o):
        return s.ReduceLROnPlateau(o, **kw)

    ours = lr_sequence("cnnlab", make, plateau=True)
    theirs = lr_sequence("torch", make, plateau=True)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    assert len(np.unique(ours[:, 0])) > 2, "the metric script should trigger reductions"


def test_cosine_closed_form_within_first_period():
    ours = lr_sequence("cnnlab", SCHEDULERS["cosine"], steps=10)[:, 0]
    t = np.arange(11)
    ref = 0.001 + (0.1 - 0.001) * (1 + np.cos(np.pi * t / 10)) / 2
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_step_and_linear_by_hand():
    step = lr_sequence("cnnlab", SCHEDULERS["step"], steps=15)[:, 0]
    np.testing.assert_allclose(step, [0.1] * 7 + [0.05] * 7 + [0.025] * 2)
    linear = lr_sequence("cnnlab", SCHEDULERS["linear"], steps=7)[:, 0]
    np.testing.assert_allclose(linear, 0.1 * np.array([0.1, 0.28, 0.46, 0.64, 0.82, 1, 1, 1]))


def test_plateau_by_hand():
    p = Parameter(np.zeros(1))
    opt = SGD([p], lr=1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    lrs = []
    for m in [5, 4, 4, 4, 4, 4, 4, 4, 4]:
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    # bad epochs 1, 2 -> halve; cooldown epoch; 1, 2 -> halve; ... floored at min_lr
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    sched.step(4)
    assert opt.param_groups[0]["lr"] == 0.2


def test_scheduler_validation():
    opt = SGD([Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match="not an Optimizer"):
        StepLR(object(), 3)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(opt, 3, last_epoch=4)
    with pytest.raises(ValueError, match="start_factor"):
        LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="milestone"):
        SequentialLR(opt, [StepLR(opt, 3), StepLR(opt, 3)], milestones=[])
    other = SGD([Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        SequentialLR(opt, [StepLR(opt, 3), StepLR(other, 3)], milestones=[2])


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_state_round_trip(name):
    """15 steps, save, rebuild, load, 25 more == 40 steps uninterrupted."""
    make = SCHEDULERS[name]
    full = lr_sequence("cnnlab", make)
    p, q = Parameter(np.zeros(2)), Parameter(np.zeros(3))

    def build():
        opt = SGD([{"params": [p]}, {"params": [q], "lr": BASE_LRS[1]}], lr=BASE_LRS[0])
        return opt, make(cnnlab.optim.lr_scheduler, opt)

    opt, sched = build()
    for _ in range(15):
        sched.step()
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    sched.step()  # the saved state must not follow
    opt, sched = build()
    opt.load_state_dict(opt_state)
    sched.load_state_dict(sched_state)
    seq = []
    for _ in range(25):
        sched.step()
        seq.append([g["lr"] for g in opt.param_groups])
    np.testing.assert_array_equal(np.array(seq), full[16:])


def test_training_resume_with_schedulers():
    """Optimiser + scheduler together: 10 steps, save, load, 10 more == 20 steps."""

    def warmup_cosine(s, o):
        return s.SequentialLR(
            o, [s.LinearLR(o, start_factor=0.2, total_iters=4), s.CosineAnnealingLR(o, 16)], [4]
        )

    assert_exact_resume(lambda optim, ps: optim.AdamW(ps, lr=0.02), warmup_cosine)
    assert_exact_resume(
        lambda optim, ps: optim.SGD(ps, lr=0.05, momentum=0.9),
        lambda s, o: s.MultiStepLR(o, [5, 12], gamma=0.5),
    )


def test_plateau_state_round_trip():
    p = Parameter(np.zeros(1))
    ms = metrics()
    opt = Adam([p], lr=0.1)
    sched = ReduceLROnPlateau(opt, patience=1, cooldown=1, factor=0.5)
    for m in ms[:12]:
        sched.step(m)
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    for m in ms[12:]:
        sched.step(m)
    opt2 = Adam([p], lr=0.1)
    sched2 = ReduceLROnPlateau(opt2)
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    for m in ms[12:]:
        sched2.step(m)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] < 0.1
    assert sched2.best == sched.best and sched2.patience == 1


@requires_torch
@pytest.mark.parametrize("name", ["cosine", "step", "linear", "exponential"])
def test_resume_with_last_epoch_matches_torch(name):
    """Built with last_epoch=3 on groups that already hold 'initial_lr', as torch resumes."""

    def make(s, o):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
        make_fresh = SCHEDULERS[name]
        sched = make_fresh(s, o)  # the kwargs of the named config, then rebuilt resumed
        kw = {
            k: getattr(sched, k)
            for k in (
                "T_max",
                "eta_min",
                "step_size",
                "gamma",
                "start_factor",
                "end_factor",
                "total_iters",
            )
            if hasattr(sched, k)
        }
        for g in o.param_groups:
            g["lr"] = g["initial_lr"]
        return type(sched)(o, last_epoch=3, **kw)

    ours = lr_sequence("cnnlab", make, steps=20)
    theirs = lr_sequence("torch", make, steps=20)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


def momentum_sequence(lib, make_sched, adam: bool):
    """The momentum (SGD) or beta1 (Adam) of both groups after each step."""
    p, q = (
        (torch.zeros(2), torch.zeros(3))
        if lib == "torch"
        else (Parameter(np.zeros(2)), Parameter(np.zeros(3)))
    )
    optim = torch.optim if lib == "torch" else cnnlab.optim
    sched_mod = optim.lr_scheduler
    groups = [{"params": [p]}, {"params": [q]}]
    opt = optim.Adam(groups, lr=0.1) if adam else optim.SGD(groups, lr=0.1, momentum=0.9)
    sched = make_sched(sched_mod, opt)
    key = (lambda g: g["betas"][0]) if adam else (lambda g: g["momentum"])
    seq = []
    for _ in range(30):
        opt.step()
        sched.step()
        seq.append([key(g) for g in opt.param_groups])
    return np.array(seq)


@requires_torch
@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize(
    "make",
    [
        lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=4, base_momentum=[0.8, 0.7]),
        lambda s, o: s.OneCycleLR(o, 0.1, total_steps=31, three_phase=True),
    ],
    ids=["cyclic", "one_cycle"],
)
def test_cycled_momentum_matches_torch(make, adam):
    ours, theirs = momentum_sequence("cnnlab", make, adam), momentum_sequence("torch", make, adam)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert len(np.unique(ours[:, 0])) > 3


@requires_torch
def test_warm_restarts_with_fractional_epochs_matches_torch():
    def run(lib):
        p = torch.zeros(1) if lib is torch else Parameter(np.zeros(1))
        opt = lib.optim.SGD([p], lr=0.1)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
        out = []
        for epoch in range(8):
            for i in range(4):
                sched.step(epoch + i / 4)
                out.append(opt.param_groups[0]["lr"])
        sched.step()
        return out + [opt.param_groups[0]["lr"]]

    np.testing.assert_allclose(run(cnnlab), run(torch), rtol=0, atol=1e-12)


def test_cyclic_schedules_validate():
    p = Parameter(np.zeros(1))
    s = cnnlab.optim.lr_scheduler
    with pytest.raises(ValueError, match="cycle_momentum"):
        s.CyclicLR(cnnlab.optim.Adagrad([p]), 0.01, 0.1)
    with pytest.raises(ValueError, match="expected 1 values for max_lr, got 2"):
        s.OneCycleLR(SGD([p], lr=0.1), [0.1, 0.2], total_steps=10)
    with pytest.raises(ValueError, match="total_steps OR"):
        s.OneCycleLR(SGD([p], lr=0.1), 0.1)
    with pytest.raises(ValueError, match="T_mult >= 1"):
        s.CosineAnnealingWarmRestarts(SGD([p], lr=0.1), T_0=2, T_mult=0)
    with pytest.raises(ValueError, match="factor must be in"):
        s.ConstantLR(SGD([p], lr=0.1), factor=2)
    sched = s.OneCycleLR(SGD([p], lr=0.1), 0.1, total_steps=2)
    sched.step(), sched.step()
    with pytest.raises(ValueError, match="tried to step 3 times"):
        sched.step()
