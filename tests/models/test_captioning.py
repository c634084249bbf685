import numpy as np
import pytest

import cnnlab
from cnnlab import models
from tests.helpers import seeded


@pytest.fixture(scope="module", params=["show_tell", "show_attend_tell"])
def captioner(request):
    cnnlab.manual_seed(0)
    opts = {"widths": (4, 4, 8, 8), "embed_size": 6, "hidden_size": 8}
    if request.param == "show_attend_tell":
        opts["attention_size"] = 5
    return request.param, models.create(request.param, **opts).eval()


def test_registered_as_captioners():
    for name in ("show_tell", "show_attend_tell"):
        info = models.info(name)
        assert info["task"] == "caption" and info["input_shape"] == (1, 64, 64)


def test_teacher_forcing_equals_one_step_at_a_time(captioner):
    name, model = captioner
    x = cnnlab.tensor(seeded(1).standard_normal((3, 1, 64, 64)).astype(np.float32))
    tokens = np.array([[1, 5, 7, 2], [1, 3, 2, 0], [1, 12, 4, 9]])
    with cnnlab.no_grad():
        scores = model(x, cnnlab.tensor(tokens))
        assert scores.shape == (3, 4, 13)
        memory = model.encode(x)
        state = model.init_state(memory)
        for t in range(4):
            s, state, alpha = model.step(memory, cnnlab.tensor(tokens[:, t]), state)
            np.testing.assert_allclose(s.numpy(), scores.numpy()[:, t], rtol=1e-4, atol=1e-5)
            if name == "show_attend_tell":
                assert alpha.shape == (3, 64)
                np.testing.assert_allclose(alpha.numpy().sum(1), 1.0, rtol=1e-5)
            else:
                assert alpha is None


def test_gradients_reach_every_parameter(captioner):
    _, model = captioner
    model.train()
    try:
        x = cnnlab.tensor(seeded(2).standard_normal((2, 1, 64, 64)).astype(np.float32))
        model(x, cnnlab.tensor(np.array([[1, 4, 2], [1, 6, 7]]))).sum().backward()
        for pname, p in model.named_parameters():
            assert p.grad is not None and np.all(np.isfinite(np.asarray(p.grad))), pname
    finally:
        model.zero_grad()
        model.eval()


def test_bad_input_is_named(captioner):
    name, model = captioner
    x = cnnlab.zeros(2, 1, 64, 64)
    with pytest.raises(ValueError, match=r"tokens must be \(N, T\) word indices for 2 images"):
        model(x, cnnlab.tensor(np.array([1, 2])))
    with pytest.raises(ValueError, match="SceneEncoder: input must be"):
        model(cnnlab.zeros(2, 1, 60, 60), cnnlab.tensor(np.array([[1], [1]])))


def test_summary_command_describes_the_encoder(capsys):
    from cnnlab.cli.main import main

    assert main(["summary", "show_tell"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("show_tell.encoder (the decoder also reads words) on input 1x64x64")
