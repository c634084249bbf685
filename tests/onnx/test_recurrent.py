"""``cnnlab.onnx.recurrent``'s import half: ONNX LSTM/GRU/RNN nodes as cnnlab's
``nn.LSTM/GRU/RNN``, from PyTorch's TorchScript exporter (outputs and input gradients
against torch's) and from cnnlab's own exporter (round trips). PyTorch's dynamo exporter
(with ``onnxscript``) is tested in test_dynamo.py."""

from __future__ import annotations

import io

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.onnx import load
from tests.helpers import requires_torch, torch

pytestmark = pytest.mark.filterwarnings(
    "ignore:You are using the legacy TorchScript",
    "ignore:Constant folding",
    "ignore:Converting a tensor to a Python boolean",
)

OPTIONS = [
    {},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"num_layers": 2, "bidirectional": False},
]


def _export(model, args, names) -> bytes:
    f = io.BytesIO()
    torch.onnx.export(model.eval(), args, f, dynamo=False, input_names=names)
    return f.getvalue()


if torch is not None:

    class Classifier(torch.nn.Module):
        """A recurrent layer read out at its last step by a linear layer."""

        def __init__(self, cls, **kw) -> None:
            super().__init__()
            self.rnn = cls(5, 7, **kw)
            self.fc = torch.nn.Linear(7 * (2 if kw.get("bidirectional") else 1), 3)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y[:, -1] if self.rnn.batch_first else y[-1])


@requires_torch
@pytest.mark.parametrize("options", OPTIONS, ids=["one-layer", "2-layer-bi-batch-first", "2-layer"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_pytorch_recurrent_classifiers_match_torch_with_input_gradients(kind, options):
    torch.manual_seed(0)
    model = Classifier(getattr(torch.nn, kind), **options).eval()
    x = np.random.default_rng(0).standard_normal((4, 6, 5)).astype(np.float32)
    loaded = load(_export(model, torch.tensor(x), ["x"]))
    xt, xc = torch.tensor(x, requires_grad=True), cnnlab.tensor(x, requires_grad=True)
    y, yc = model(xt), loaded(xc)
    np.testing.assert_allclose(yc.numpy(), y.detach().numpy(), atol=1e-5, rtol=1e-5)
    y.sum().backward()
    yc.sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-5, rtol=1e-5)
    layers = [m for m in loaded.modules() if isinstance(m, getattr(nn, kind))]
    assert len(layers) == options.get("num_layers", 1)  # one ONNX node per layer
    assert layers[0].weight_ih_l0.shape == model.rnn.weight_ih_l0.shape


@requires_torch
def test_pytorch_lstm_with_initial_states_given_as_inputs_matches_torch():
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True).eval()
    rng = np.random.default_rng(1)
    x, h0, c0 = (
        rng.standard_normal(s).astype(np.float32) for s in ((5, 3, 4), (4, 3, 6), (4, 3, 6))
    )
    proto = _export(
        lstm, (torch.tensor(x), (torch.tensor(h0), torch.tensor(c0))), ["x", "h0", "c0"]
    )
    ours = load(proto)(*(cnnlab.tensor(a) for a in (x, h0, c0)))
    theirs = lstm(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    flat = (theirs[0], *theirs[1])
    assert len(ours) == 3
    for o, t in zip(ours, flat):
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["lstm_rows", "gru_rows"])
def test_round_trip_of_cnnlab_recurrent_exports(exported, name):
    model, path = exported(name)
    loaded = load(path)
    shape = models.info(name)["input_shape"]
    x = cnnlab.tensor(np.random.default_rng(0).random((3, *shape), dtype=np.float32))
    with cnnlab.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-5, rtol=1e-5)


def _node_model(op, inputs, inits, **attrs):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2, 4])
    extra = [helper.make_tensor_value_info(n, TensorProto.INT32, [2]) for n in inputs[4:5] if n]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node(op, inputs, ["y"], name="rec", hidden_size=5, **attrs)
    graph = helper.make_graph([node], "g", [x, *extra], [y], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _weights(op, gates):
    from onnx import numpy_helper

    rng = np.random.default_rng(0)
    w = rng.standard_normal((1, gates * 5, 4)).astype(np.float32)
    r = rng.standard_normal((1, gates * 5, 5)).astype(np.float32)
    return [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R")]


def test_onnx_default_gru_matches_onnxruntime_with_constant_weights():
    """linear_before_reset=0 (ONNX's default, not PyTorch's GRU) runs step by step."""
    import onnxruntime as ort
    from onnx import numpy_helper

    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array(rng.standard_normal((2, 15, 4)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.standard_normal((2, 15, 5)).astype(np.float32), "R"),
        numpy_helper.from_array(rng.standard_normal((2, 30)).astype(np.float32), "B"),
    ]
    proto = _node_model("GRU", ["x", "W", "R", "B"], inits, direction="bidirectional")
    x = rng.standard_normal((3, 2, 4)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})[0]
    got = load(proto)(cnnlab.tensor(x))
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5, rtol=1e-5)


def test_sequence_lengths_shorter_than_the_sequence_are_refused_at_run_time():
    proto = _node_model("LSTM", ["x", "W", "R", "", "lens"], _weights("LSTM", 4))
    model = load(proto)
    x = cnnlab.tensor(np.ones((3, 2, 4), np.float32))
    assert model(x, np.array([3, 3], np.int32)).shape == (3, 1, 2, 5)
    with pytest.raises(ValueError, match=r"'rec' \(LSTM\): sequence_lens \[3, 2\] shorter"):
        model(x, np.array([3, 2], np.int32))


def test_reverse_direction_runs_the_sequence_backwards():
    proto = _node_model("RNN", ["x", "W", "R"], _weights("RNN", 1), direction="reverse")
    model = load(proto)
    x = np.random.default_rng(2).standard_normal((3, 2, 4)).astype(np.float32)
    layer = next(m for m in model.modules() if isinstance(m, nn.RNN))
    with cnnlab.no_grad():
        y = model(cnnlab.tensor(x))
        backwards, _ = layer(cnnlab.tensor(x[::-1].copy()))
    np.testing.assert_allclose(y.numpy()[:, 0], backwards.numpy()[::-1], atol=1e-6)


def _peephole_weights(rng, dtype=np.float32):
    shapes = {"W": (2, 20, 4), "R": (2, 20, 5), "B": (2, 40), "P": (2, 15)}
    return {k: (rng.standard_normal(s) * 0.5).astype(dtype) for k, s in shapes.items()}


def test_lstm_with_peepholes_matches_onnxruntime():
    import onnxruntime as ort
    from onnx import numpy_helper

    rng = np.random.default_rng(4)
    inits = [numpy_helper.from_array(a, k) for k, a in _peephole_weights(rng).items()]
    names = ["x", "W", "R", "B", "", "", "", "P"]
    proto = _node_model("LSTM", names, inits, direction="bidirectional")
    x = rng.standard_normal((3, 2, 4)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})[0]
    np.testing.assert_allclose(load(proto)(cnnlab.tensor(x)).numpy(), want, atol=1e-5, rtol=1e-5)


def test_lstm_with_peepholes_passes_a_float64_gradcheck():
    from cnnlab.onnx.recurrent import _lstm_peepholes
    from tests.helpers import check_gradients

    rng = np.random.default_rng(5)
    weights = _peephole_weights(rng, np.float64)
    x, h0, c0 = (rng.standard_normal(s) for s in ((3, 2, 4), (2, 2, 5), (2, 2, 5)))

    def fn(x, w, r, b, p, h0, c0):
        y, (h, c) = _lstm_peepholes(x, (w, r, b, p), (h0, c0), 2, 5)
        return (y * y).sum() + (h * c).sum()

    check_gradients(fn, [x, *weights.values(), h0, c0])
