"""GANTrainer: a few steps move losses and D outputs the right way; checkpoints resume
exactly; a NaN stops training and keeps the last good checkpoint."""

import csv
import math

import numpy as np
import pytest

import cnnlab
from cnnlab.gan import GANTrainer
from cnnlab.train.checkpoint import load_checkpoint
from tests.gan.conftest import tiny_pair


def test_a_few_steps_move_losses_and_discriminator_outputs(data):
    x, _ = data
    pair, cfg = tiny_pair()
    g0 = {k: v.copy() for k, v in pair.generator.state_dict().items()}
    trainer = GANTrainer(pair, x, batch_size=16, lr=1e-3, progress=False, config=cfg)
    recs = [trainer.train_step(x[(i % 4) * 16 : (i % 4 + 1) * 16]) for i in range(20)]
    # an untrained D says 0.5 to everything: loss_D = 2 ln 2, loss_G = ln 2
    assert recs[0]["loss_D"] == pytest.approx(2 * math.log(2), abs=0.3)
    assert recs[0]["loss_G"] == pytest.approx(math.log(2), abs=0.3)
    # D learns to tell real from generated ...
    assert recs[-1]["loss_D"] < recs[0]["loss_D"]
    assert recs[-1]["D_x"] > 0.7 > recs[-1]["D_G_z_before"]
    # ... and, once the fakes differ enough for its batch norm to see them, each D step
    # lowers its output on the same fakes before G moves
    assert all(r["D_G_z_after"] < r["D_G_z_before"] for r in recs[-5:])
    assert all(r["grad_norm_D"] > 0 and r["grad_norm_G"] > 0 for r in recs)
    moved = [not np.array_equal(g0[k], v) for k, v in pair.generator.state_dict().items()]
    assert any(moved)


def test_the_generator_step_raises_d_of_g_of_z(data):
    x, _ = data
    pair, cfg = tiny_pair()
    trainer = GANTrainer(pair, x, batch_size=16, lr=1e-3, progress=False, config=cfg)
    for i in range(4):
        trainer.train_step(x[i * 16 : (i + 1) * 16])
    cnnlab.manual_seed(7)
    z = cnnlab.randn(32, pair.generator.nz)
    pair.train()
    before = float(pair.discriminator(pair.generator(z)).sigmoid().mean().item())
    loss = trainer.loss_fn(pair.discriminator(pair.generator(z)), cnnlab.ones(32, 1))
    trainer.opt_G.zero_grad()
    loss.backward()
    trainer.opt_G.step()
    after = float(pair.discriminator(pair.generator(z)).sigmoid().mean().item())
    assert after > before


def test_fit_writes_metrics_samples_gif_and_checkpoint(tmp_path, data):
    x, _ = data
    pair, cfg = tiny_pair()
    trainer = GANTrainer(
        pair, x, epochs=2, batch_size=16, progress=False, out_dir=tmp_path, config=cfg, log_every=2
    )
    history = trainer.fit()
    assert [r["epoch"] for r in history] == [1, 2]
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8]
    assert {"loss_D", "D_G_z_before", "D_G_z_after", "grad_norm_G"} <= set(rows[0])
    for name in ("progress.gif", "metrics.png", "samples/epoch_001.png", "samples/epoch_002.png"):
        assert (tmp_path / name).stat().st_size > 0
    from PIL import Image

    assert Image.open(tmp_path / "progress.gif").n_frames == 2
    ckpt = load_checkpoint(tmp_path / "last.safetensors")
    assert ckpt.epoch == 2 and ckpt.metrics["step"] == 8 and ckpt.config["kind"] == "dcgan"


def test_conditional_training_runs_and_needs_labels(data):
    x, y = data
    pair, cfg = tiny_pair(conditional=True)
    with pytest.raises(ValueError, match="conditional; give labels"):
        GANTrainer(pair, x, progress=False, batch_size=16)
    trainer = GANTrainer(pair, x, y, epochs=1, batch_size=16, progress=False, config=cfg)
    trainer.fit()
    assert trainer.step == 4 and trainer.fixed_y is not None


def test_images_outside_the_tanh_range_are_refused(data):
    x, _ = data
    pair, _ = tiny_pair()
    with pytest.raises(ValueError, match=r"scaled to \[-1, 1\]"):
        GANTrainer(pair, (x + 1) * 127.5, progress=False, batch_size=16)
    with pytest.raises(ValueError, match=r"scaled to \[-1, 1\]"):
        GANTrainer(pair, (x + 1) / 20, progress=False, batch_size=16)  # [0, 0.1]: unscaled


def _states(trainer):
    params = {k: v.copy() for k, v in trainer.pair.state_dict().items()}
    return params, trainer.opt_G.state_dict(), trainer.opt_D.state_dict()


def test_resume_gives_exactly_the_parameters_of_an_uninterrupted_run(tmp_path, data):
    x, _ = data
    pair, cfg = tiny_pair(seed=0)
    whole = GANTrainer(pair, x, epochs=3, batch_size=16, progress=False, out_dir=tmp_path / "a")
    whole.fit()

    pair, cfg = tiny_pair(seed=0)
    first = GANTrainer(pair, x, epochs=1, batch_size=16, progress=False, out_dir=tmp_path / "b")
    first.fit()
    cnnlab.randn(5, 5)  # disturb the RNG: the checkpoint must restore it
    other, _ = tiny_pair(seed=123)  # different initial weights, overwritten by the resume
    rest = GANTrainer(other, x, epochs=3, batch_size=16, progress=False, out_dir=tmp_path / "b")
    assert rest.resume(tmp_path / "b" / "last.safetensors") == 1
    rest.fit()

    (pa, ga, da), (pb, gb, db) = _states(whole), _states(rest)
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k], err_msg=k)
    for sa, sb in ((ga, gb), (da, db)):
        for i, st in sa["state"].items():
            for key, v in st.items():
                np.testing.assert_array_equal(np.asarray(v), np.asarray(sb["state"][i][key]))
    assert [r["loss_D"] for r in whole.history] == [r["loss_D"] for r in rest.history]
    with open(tmp_path / "a" / "metrics.csv") as fa, open(tmp_path / "b" / "metrics.csv") as fb:
        assert fa.read() == fb.read()


def test_a_nan_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, data):
    x, _ = data
    pair, cfg = tiny_pair()
    trainer = GANTrainer(pair, x, epochs=3, batch_size=16, progress=False, out_dir=tmp_path)
    trainer.epochs = 1
    trainer.fit()
    good = {k: v.copy() for k, v in pair.state_dict().items()}
    trainer.epochs = 3
    w = pair.discriminator.main[0].weight
    w.array[...] = np.nan
    trainer.fit()
    assert trainer.stopped is not None and "non-finite" in trainer.stopped
    assert trainer.epoch == 1 and any(w["check"] == "nan" for w in trainer.monitor.warnings)
    kept = load_checkpoint(tmp_path / "last.safetensors")
    assert kept.epoch == 1
    for k, v in good.items():
        np.testing.assert_array_equal(kept.model_state[k], v)


def test_fit_creates_a_missing_run_directory_before_the_first_metrics_row(tmp_path, data):
    # regression: metrics.csv was appended before anything had created out_dir
    x, _ = data
    pair, cfg = tiny_pair()
    out = tmp_path / "new" / "run"
    GANTrainer(pair, x, epochs=1, batch_size=16, progress=False, out_dir=out, log_every=1).fit()
    assert (out / "metrics.csv").exists() and (out / "last.safetensors").exists()


def test_d_of_g_of_z_after_the_generator_step_is_logged_and_matches_a_recomputation(data):
    # the issue asks for D(G(z)) before and after the generator step; D_G_z_after_G is the
    # same z through the updated G and D, with training-mode batch statistics
    x, _ = data
    pair, cfg = tiny_pair()
    trainer = GANTrainer(pair, x, batch_size=16, lr=1e-3, progress=False, config=cfg)
    for i in range(6):
        trainer.train_step(x[(i % 4) * 16 : (i % 4 + 1) * 16])
    state = cnnlab.backend.default_rng().bit_generator.state
    rec = trainer.train_step(x[:16], after_g=True)
    # the same z again, drawn from the same RNG state
    cnnlab.backend.default_rng().bit_generator.state = state
    z = cnnlab.randn(16, pair.generator.nz)
    buffers = {k: v.copy() for k, v in pair.state_dict().items() if "running" in k}
    with cnnlab.no_grad():
        logits = pair.discriminator(pair.generator(z)).numpy().astype(np.float64)
    for k, v in pair.state_dict().items():  # put back what this check's forward moved
        if k in buffers:
            v[...] = buffers[k]
    assert rec["D_G_z_after_G"] == pytest.approx(float((1 / (1 + np.exp(-logits))).mean()))
    # G's step is meant to raise it above what G's gradient saw
    assert rec["D_G_z_after_G"] > rec["D_G_z_after"]
    assert math.isnan(trainer.train_step(x[:16])["D_G_z_after_G"])  # not measured


def test_measuring_after_the_generator_step_leaves_the_trajectory_unchanged(tmp_path, data):
    # the extra forward must not move batch-norm running statistics or draw random numbers
    x, _ = data
    runs = []
    for log_every in (1, 1000):
        pair, cfg = tiny_pair(seed=0)
        cnnlab.manual_seed(0)
        t = GANTrainer(pair, x, epochs=2, batch_size=16, progress=False, log_every=log_every)
        t.fit()
        runs.append((t, {k: v.copy() for k, v in pair.state_dict().items()}))
    (logged, a), (_, b) = runs
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert all(0 < r["D_G_z_after_G"] < 1 for r in logged.history)
    assert "D_G_z_after_G" not in runs[1][0].history[-1]  # never measured: no mean


def test_metrics_csv_has_the_after_g_column_and_old_runs_still_plot(tmp_path, data):
    from cnnlab.gan.plots import plot_metrics

    x, _ = data
    pair, cfg = tiny_pair()
    t = GANTrainer(pair, x, epochs=1, batch_size=16, progress=False, out_dir=tmp_path, log_every=2)
    t.fit()
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert all(0 < float(r["D_G_z_after_G"]) < 1 for r in rows)
    # regression: a run resumed from before the column existed has empty cells there
    old = tmp_path / "old.csv"
    with open(old, "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows([{**r, "D_G_z_after_G": ""} for r in rows[:1]] + rows[1:])
    assert plot_metrics(old, tmp_path / "old.png").stat().st_size > 0
