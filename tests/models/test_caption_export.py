import numpy as np
import pytest

import cnnlab
from cnnlab import models
from cnnlab.data.captions import START
from cnnlab.models.caption_decode import greedy_decode
from cnnlab.models.caption_export import export_captioner

ort = pytest.importorskip("onnxruntime")
CAPTIONERS = ["show_tell", "show_attend_tell"]


@pytest.mark.parametrize("name", CAPTIONERS)
def test_encoder_and_step_in_onnxruntime_write_the_same_captions(tmp_path, name):
    cnnlab.manual_seed(0)
    model = models.create(name, widths=(4, 8, 8, 8), hidden_size=16, embed_size=8).eval()
    paths = export_captioner(model, tmp_path)
    enc = ort.InferenceSession(paths["encoder"])
    step = ort.InferenceSession(paths["step"])
    x = np.random.default_rng(1).random((3, 1, 64, 64), dtype=np.float32)
    *memory, h, c = enc.run(None, {"input": x})
    feeds = dict(zip(paths["memory"], memory))
    token, written, alphas = np.full(3, START, np.int64), [], []
    for _ in range(4):  # greedy, with the loop in Python around the step graph
        scores, h, c, *alpha = step.run(None, {"token": token, "h": h, "c": c, **feeds})
        scores[:, :2] = -np.inf  # <pad> and <start> are never written (as greedy_decode)
        token = scores.argmax(axis=1)
        written.append(token)
        alphas += alpha
    ours, our_alphas = greedy_decode(model, x, max_len=4)
    got = np.stack(written, axis=1)
    ends = np.cumsum(ours == 2, axis=1) - (ours == 2) == 0  # up to each caption's <end>
    np.testing.assert_array_equal(got[ends], ours[ends])
    assert not model.training  # export leaves the captioner in eval mode
    if name == "show_attend_tell":
        np.testing.assert_allclose(np.stack(alphas, 1)[ends], our_alphas[ends], atol=1e-5)
    else:
        assert our_alphas is None and paths["outputs"] == ["scores", "h_next", "c_next"]


def test_export_command_writes_a_folder_for_captioners_only(tmp_path, capsys):
    from cnnlab.cli.main import main

    assert main(["export", "--model", "show_tell", str(tmp_path / "st.onnx")]) == 0
    assert "(a captioner: the encoder and one decoder step)" in capsys.readouterr().out
    assert (tmp_path / "st" / "encoder.onnx").is_file() and (
        tmp_path / "st" / "step.onnx"
    ).is_file()
    from cnnlab.models.caption_export import export_command

    assert export_command(tmp_path / "l.onnx", name="lenet5") is None  # one graph, as before
