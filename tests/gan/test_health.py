"""Health checks fire on constructed failures and stay quiet on healthy numbers."""

import math

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.gan import GANTrainer, HealthMonitor
from cnnlab.gan.health import class_entropy, mean_pairwise_distance
from cnnlab.gan.networks import GANPair
from tests.gan.conftest import tiny_pair


def _record(step, loss_D=1.2, dgz=0.4, gD=1.0, gG=1.0):
    return {
        "epoch": 1,
        "step": step,
        "loss_D": loss_D,
        "loss_G": 0.9,
        "D_x": 0.6,
        "D_G_z_before": dgz,
        "D_G_z_after": dgz,
        "grad_norm_D": gD,
        "grad_norm_G": gG,
    }


def test_mean_pairwise_distance_and_class_entropy():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert mean_pairwise_distance(x) == np.float64(10 / 3)
    assert class_entropy(np.zeros(20, int), 10) == 0.0
    assert math.isclose(class_entropy(np.arange(20) % 10, 10), math.log(10))


def test_discriminator_wins_fires_after_patience_steps_only():
    m = HealthMonitor(patience=5)
    for s in range(4):
        assert m.check_step(_record(s, loss_D=0.01, dgz=0.01)) == []
    m.check_step(_record(4, loss_D=1.0, dgz=0.3))  # the streak is broken
    fired = [w for s in range(5, 10) for w in m.check_step(_record(s, loss_D=0.01, dgz=0.01))]
    assert [w["check"] for w in fired] == ["discriminator_wins"]
    assert fired[0]["step"] == 9 and "learning rate" in fired[0]["try"]


def test_exploding_gradients_fire_against_the_running_median():
    m = HealthMonitor(window=10, grad_factor=20.0)
    quiet = [w for s in range(10) for w in m.check_step(_record(s, gD=1.0 + 0.1 * s))]
    assert quiet == []
    (w,) = m.check_step(_record(10, gD=500.0))
    assert w["check"] == "exploding_gradients" and "grad_norm_D" in w["message"]
    (w,) = HealthMonitor().check_step({**_record(0), "epoch": 2, "grad_norm_G": float("inf")})
    assert w["check"] == "exploding_gradients"


def test_nan_losses_are_reported():
    (w,) = HealthMonitor().check_step(_record(0, loss_D=float("nan")))
    assert w["check"] == "nan"


def test_collapse_fires_when_diversity_falls_and_when_classes_are_one():
    m = HealthMonitor(warmup_steps=0)
    rng = np.random.default_rng(0)
    diverse = rng.standard_normal((16, 1, 8, 8))
    out = m.check_samples(diverse, 1, 10, real_diversity=mean_pairwise_distance(diverse))
    assert out["warnings"] == []
    one_image = np.repeat(diverse[:1], 16, axis=0)
    out = m.check_samples(one_image, 2, 20, predicted=np.zeros(16, int), num_classes=10)
    assert out["diversity"] == 0.0 and out["class_entropy"] == 0.0
    assert [w["check"] for w in out["warnings"]] == ["collapse", "collapse"]


def test_collapse_is_not_judged_during_the_warmup_steps():
    # regression: a warm-up of 2 epochs was 124 steps on the MNIST subset, and a generator
    # still learning to spread out was called collapsed at epoch 3 (step 186)
    m = HealthMonitor(warmup_steps=1000)
    flat = np.zeros((8, 1, 4, 4))
    flat[:, 0, 0, 0] = np.arange(8) * 1e-3
    preds = np.zeros(8, int)
    assert m.check_samples(flat, 3, 186, 10.0, preds, 10)["warnings"] == []
    fired = m.check_samples(flat, 17, 1054, 10.0, preds, 10)["warnings"]
    assert [w["check"] for w in fired] == ["collapse", "collapse"]


def test_state_dict_round_trip_keeps_streaks_and_warnings():
    m = HealthMonitor(patience=3)
    for s in range(3):
        m.check_step(_record(s, loss_D=0.01))
    m2 = HealthMonitor(patience=3)
    m2.load_state_dict(m.state_dict())
    assert m2.warnings == m.warnings and m2.state_dict() == m.state_dict()


class OneImageGenerator(nn.Module):
    """A generator that ignores z: every sample is tanh of one learnable image."""

    def __init__(self, nz: int = 8, size: int = 16) -> None:
        super().__init__()
        self.nz, self.num_classes = nz, 0
        self.image = nn.Parameter(cnnlab.zeros(1, 1, size, size))

    def forward(self, z):
        return (self.image + z.reshape(z.shape[0], -1)[:, :1].reshape(-1, 1, 1, 1) * 0.0).tanh()


def test_a_one_image_generator_trips_the_collapse_check(data):
    x, _ = data
    pair, cfg = tiny_pair()
    pair = GANPair(OneImageGenerator(), pair.discriminator)
    monitor = HealthMonitor(warmup_steps=0)
    trainer = GANTrainer(pair, x, epochs=2, batch_size=16, progress=False, monitor=monitor)
    trainer.classify = lambda images: np.zeros(len(images), int)
    trainer.config["classes"] = ["a", "b"]
    trainer.fit()
    assert trainer.history[-1]["diversity"] == 0.0
    assert trainer.history[-1]["class_entropy"] == 0.0
    msgs = [w["message"] for w in monitor.warnings if w["check"] == "collapse"]
    assert any("diversity" in m for m in msgs) and any("entropy" in m for m in msgs)
    # identical fakes are normalised away by the discriminator's batch norm: D(G(z)) stays
    # near 0.5, so only the diversity check can see this failure
    assert 0.3 < trainer.history[-1]["D_G_z_before"] < 0.7


def test_a_discriminator_that_always_wins_trips_its_check(data):
    x, _ = data
    pair, _ = tiny_pair()
    monitor = HealthMonitor(patience=5)
    trainer = GANTrainer(pair, x, epochs=4, batch_size=16, progress=False, monitor=monitor)
    trainer.opt_G.param_groups[0]["lr"] = 0.0  # a generator that never learns
    trainer.opt_D.param_groups[0]["lr"] = 1e-2
    trainer.fit()
    (w,) = [w for w in monitor.warnings if w["check"] == "discriminator_wins"]
    assert w["step"] >= 5 and trainer.history[-1]["D_G_z_before"] < 0.05
