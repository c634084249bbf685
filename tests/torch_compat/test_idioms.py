"""Everyday PyTorch idioms, each written as the official tutorials and examples write it,
run twice: with ``torch`` bound to cnnlab and with ``torch`` bound to real PyTorch. Where
PyTorch gives a result, cnnlab's must equal it (values, shapes and dtypes).

The snippets come from the shapes of code in the tensors, autograd, build-model,
optimisation, neural-networks, polynomial and CIFAR-10 tutorials and the MNIST example
(learnt from, not copied). An idiom that needs something outside this branch is an
expected failure that names what it waits for; it turns into a pass once that lands.
"""

from __future__ import annotations

import inspect
import math
import os
import tempfile

import numpy as np
import pytest

import cnnlab
from tests.helpers import torch as real_torch

IDIOMS: dict = {}


def idiom(fn=None, *, ref: bool = True, waits_for: str | None = None):
    """Register ``fn(torch)``; ``ref=False`` when PyTorch's answer is random or differs on
    purpose (then the snippet asserts what must hold); ``waits_for`` names what it needs."""

    def register(f):
        IDIOMS[f.__name__] = (f, ref, waits_for)
        return f

    return register(fn) if fn is not None else register


# Conditions for the idioms that wait for work outside this branch.
_HAS_UTILS_DATA = cnnlab._subpackage_present("utils")
_LOAD_TAKES_TORCH_ARGS = "weights_only" in inspect.signature(cnnlab.load).parameters
_UTILS_WAIT = None if _HAS_UTILS_DATA else "cnnlab.utils.data (part B, branch torchrun)"
_LOAD_WAIT = None if _LOAD_TAKES_TORCH_ARGS else "cnnlab.load(weights_only=) (part B, torchrun)"
_ADADELTA_WAIT = None if hasattr(cnnlab.optim, "Adadelta") else "optim.Adadelta (part B, torchrun)"


def _fill(torch, model):
    """Deterministic weights, the same in both frameworks."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.linspace(-0.3, 0.3, p.numel()).reshape(p.shape))
    return model


def _lenet(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.conv2 = nn.Conv2d(4, 8, 3)
            self.fc1 = nn.Linear(8 * 4 * 4, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.relu(self.conv2(x))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    return _fill(torch, Net())


def _images(torch, n=4):
    return torch.linspace(-1, 1, n * 14 * 14).reshape(n, 1, 14, 14).sin()


# ------------------------------------------------------------------------- devices
@idiom
def device_from_cuda_check(torch):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return device, torch.zeros(2, device=device).device.type


@idiom
def device_from_accelerator(torch):
    device = (
        torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    )
    return device


@idiom
def device_object_with_index(torch):
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    x = torch.ones(2, 2).to(device)
    return str(device), x.device.type, x.device == device


@idiom
def device_mps_fallback(torch):
    device = torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    return device.type


@idiom
def model_to_device(torch):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = torch.nn.Linear(3, 2).to(device)
    return next(model.parameters()).device.type


@idiom
def tensor_to_device_and_dtype(torch):
    x = torch.arange(6).reshape(2, 3)
    y = x.to("cpu", dtype=torch.float64)
    return y, y.dtype == torch.float64, x.to(y).dtype == torch.float64


@idiom
def cudnn_benchmark_flag(torch):
    torch.backends.cudnn.benchmark = True
    flag = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    return flag


# ------------------------------------------------------------------------ creation
@idiom
def tensor_from_nested_list(torch):
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    return x_data, x_data.dtype == torch.int64


@idiom
def tensor_from_numpy_shares_memory(torch):
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    return t


@idiom
def numpy_from_tensor_shares_memory(torch):
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    return n.tolist()


@idiom
def like_factories(torch):
    x_data = torch.tensor([[1, 2], [3, 4]])
    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    return x_ones, x_rand.shape, x_rand.dtype == torch.float32


@idiom
def shape_tuple_factories(torch):
    shape = (2, 3)
    return torch.ones(shape), torch.zeros(shape), torch.rand(shape).shape


@idiom
def tensor_attributes(torch):
    tensor = torch.rand(3, 4)
    return tuple(tensor.shape), str(tensor.dtype).split(".")[-1], str(tensor.device)


@idiom
def eye_linspace_arange_full(torch):
    return (
        torch.eye(3),
        torch.linspace(-math.pi, math.pi, 5),
        torch.arange(0, 10, 3),
        torch.full((2, 2), 7.0),
    )


@idiom(ref=False)
def randn_like_and_randint(torch):
    torch.manual_seed(0)
    noise = torch.randn_like(torch.zeros(2, 3))
    labels = torch.randint(0, 10, (5,))
    assert labels.dtype == torch.int64 and labels.min() >= 0 and labels.max() < 10
    return noise.shape


@idiom
def size_comparison(torch):
    x = torch.zeros(3, 784)
    return x.size() == torch.Size([3, 784]), torch.Size([3, 784]).numel(), x.size(1)


@idiom
def is_tensor_and_numel(torch):
    x = torch.zeros(2, 5)
    return torch.is_tensor(x), torch.numel(x), x.numel()


# ---------------------------------------------------------------------- operations
@idiom
def set_column_by_index(torch):
    tensor = torch.ones(4, 4)
    tensor[:, 1] = 0
    return tensor, tensor[0], tensor[:, 0], tensor[..., -1]


@idiom
def cat_along_dim(torch):
    tensor = torch.ones(4, 4)
    tensor[:, 1] = 0
    return torch.cat([tensor, tensor, tensor], dim=1)


@idiom
def three_matrix_products(torch):
    tensor = torch.arange(6.0).reshape(2, 3)
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.matmul(tensor, tensor.T)
    return y1, y2, y3


@idiom
def elementwise_products(torch):
    tensor = torch.arange(6.0).reshape(2, 3)
    return tensor * tensor, tensor.mul(tensor), torch.mul(tensor, tensor)


@idiom
def sum_item(torch):
    tensor = torch.arange(6.0).reshape(2, 3)
    agg = tensor.sum()
    agg_item = agg.item()
    return agg_item, type(agg_item).__name__


@idiom
def add_in_place(torch):
    tensor = torch.ones(2, 2)
    tensor.add_(5)
    return tensor


@idiom
def max_with_dim_values_indices(torch):
    outputs = torch.tensor([[0.1, 2.0, 0.3], [1.5, 0.2, 0.9]])
    return outputs.max(dim=1).values, outputs.max(dim=1).indices, torch.max(outputs, 1)[1]


@idiom
def max_of_outputs_data(torch):
    outputs = torch.tensor([[0.1, 2.0, 0.3], [1.5, 0.2, 0.9]], requires_grad=True)
    labels = torch.tensor([1, 2])
    _, predicted = torch.max(outputs.data, 1)
    correct = (predicted == labels).sum().item()
    return predicted, correct


@idiom
def argmax_accuracy(torch):
    pred = torch.tensor([[0.1, 2.0], [1.5, 0.2], [0.3, 0.4]])
    y = torch.tensor([1, 0, 0])
    return (pred.argmax(1) == y).type(torch.float).sum().item()


@idiom
def mnist_eval_accuracy(torch):
    F = torch.nn.functional
    output = F.log_softmax(torch.tensor([[0.1, 2.0, 0.3], [1.5, 0.2, 0.9]]), dim=1)
    target = torch.tensor([1, 2])
    test_loss = F.nll_loss(output, target, reduction="sum").item()
    pred = output.argmax(dim=1, keepdim=True)
    correct = pred.eq(target.view_as(pred)).sum().item()
    return round(test_loss, 5), correct


@idiom
def softmax_module_then_argmax(torch):
    logits = torch.tensor([[1.0, 2.0, 0.5]])
    pred_probab = torch.nn.Softmax(dim=1)(logits)
    return pred_probab, pred_probab.argmax(1)


@idiom
def top5_predictions(torch):
    probs = torch.softmax(torch.arange(10.0), dim=0)
    top5_prob, top5_catid = torch.topk(probs, 5)
    return top5_prob, top5_catid


@idiom
def sort_descending(torch):
    scores = torch.tensor([0.3, 0.9, 0.1, 0.5])
    values, order = torch.sort(scores, descending=True)
    return values, order


@idiom
def mean_std_normalise(torch):
    x = torch.arange(12.0).reshape(4, 3)
    mean, std = x.mean(dim=0, keepdim=True), x.std(dim=0, keepdim=True)
    return (x - mean) / std, torch.mean(x), torch.std(x, dim=1)


@idiom
def sum_over_dims(torch):
    x = torch.arange(24.0).reshape(2, 3, 4)
    return torch.sum(x, dim=(1, 2)), x.sum(-1, keepdim=True), torch.prod(x[0, 0] + 1)


@idiom
def elementwise_maths(torch):
    x = torch.tensor([0.5, 1.0, 2.0])
    return torch.exp(x), torch.log(x), torch.sqrt(x), torch.abs(-x), torch.sigmoid(x), torch.tanh(x)


@idiom
def clamp_and_where(torch):
    x = torch.tensor([-2.0, -0.5, 0.5, 3.0])
    return torch.clamp(x, min=0), x.clamp(-1, 1), torch.where(x > 0, x, torch.zeros_like(x))


@idiom
def pow_and_powers_tensor(torch):
    x = torch.linspace(-1, 1, 5)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    return xx, x.pow(2), x**3


@idiom
def einsum_batch_matmul(torch):
    a = torch.arange(24.0).reshape(2, 3, 4)
    b = torch.arange(40.0).reshape(2, 4, 5)
    return torch.einsum("bij,bjk->bik", a, b), torch.bmm(a, b)


@idiom
def masked_fill_attention(torch):
    scores = torch.arange(9.0).reshape(3, 3)
    mask = torch.tril(torch.ones(3, 3))
    return scores.masked_fill(mask == 0, float("-inf")).softmax(dim=-1)


@idiom
def one_hot_float(torch):
    F = torch.nn.functional
    labels = torch.tensor([0, 3, 1])
    return F.one_hot(labels, num_classes=4).float()


@idiom
def stack_split_chunk(torch):
    t1, t2 = torch.arange(4.0), torch.arange(4.0, 8.0)
    s = torch.stack([t1, t2], dim=0)
    return s, torch.split(s, 1, dim=0)[1], s.chunk(2, dim=1)[0]


@idiom
def squeeze_unsqueeze_flatten(torch):
    x = torch.zeros(2, 1, 3)
    return x.squeeze().shape, x.unsqueeze(0).shape, torch.flatten(x).shape, x.view(-1, 3).shape


@idiom
def view_as_and_t(torch):
    x = torch.arange(6.0)
    y = torch.zeros(2, 3)
    return x.view_as(y), y.t().shape, torch.arange(6).reshape(2, 3).t().contiguous()


@idiom
def allclose_check(torch):
    a = torch.tensor([1.0, 2.0])
    return torch.allclose(a, a + 1e-7), torch.allclose(a, a + 1e-2)


@idiom
def tolist_and_float_long(torch):
    x = torch.tensor([1.7, -2.2])
    return x.tolist(), x.long(), x.float().dtype == torch.float32


# ------------------------------------------------------------------------ autograd
@idiom
def autograd_logistic_regression(torch):
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.linspace(-1, 1, 15).reshape(5, 3).requires_grad_()
    b = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    return loss, w.grad, b.grad, z.grad_fn.name()


@idiom
def no_grad_and_detach(torch):
    w = torch.ones(3, requires_grad=True)
    z = w * 2
    with torch.no_grad():
        z2 = w * 2
    z_det = z.detach()
    return z.requires_grad, z2.requires_grad, z_det.requires_grad


@idiom
def jacobian_product_with_retain_graph(torch):
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    second = inp.grad.clone()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    return first, second, inp.grad


@idiom
def grad_fn_next_functions(torch):
    a = torch.tensor([2.0], requires_grad=True)
    b = torch.tensor([3.0], requires_grad=True)
    y = a * b
    nxt = y.grad_fn.next_functions
    return y.grad_fn.name(), len(nxt), nxt[0][0].variable is a


@idiom
def no_grad_decorator(torch):
    @torch.no_grad()
    def evaluate(x):
        return (x * 2).requires_grad

    return evaluate(torch.ones(2, requires_grad=True))


@idiom
def inference_mode_decorator(torch):
    @torch.inference_mode()
    def predict(x):
        return (x * 2).requires_grad

    return predict(torch.ones(2, requires_grad=True))


@idiom
def set_grad_enabled_by_phase(torch):
    x = torch.ones(2, requires_grad=True)
    seen = []
    for phase in ("train", "val"):
        with torch.set_grad_enabled(phase == "train"):
            seen.append((x * 2).requires_grad)
    return seen


@idiom
def polynomial_fit_manual_updates(torch):
    x = torch.linspace(-math.pi, math.pi, 200)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, requires_grad=True) for v in (0.1, 0.2, -0.1, 0.05))
    learning_rate = 1e-6
    for _ in range(5):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return a, b, c, d, a.is_leaf


@idiom
def manual_sgd_through_data(torch):
    net = _fill(torch, torch.nn.Linear(3, 2))
    out = net(torch.ones(1, 3)).sum()
    out.backward()
    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    return net.weight, net.bias


# -------------------------------------------------------------------------- models
@idiom
def flatten_layer_size(torch):
    input_image = torch.rand(3, 28, 28)
    flatten = torch.nn.Flatten()
    return flatten(input_image).size()


@idiom
def sequential_stack_logits(torch):
    nn = torch.nn
    model = _fill(torch, nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)))
    logits = model(torch.linspace(0, 1, 32).reshape(2, 4, 4))
    return logits, nn.Softmax(dim=1)(logits).argmax(1)


@idiom
def named_parameters_sizes(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    return [(name, tuple(param.size())) for name, param in model.named_parameters()]


@idiom
def lenet_forward_and_params(torch):
    net = _lenet(torch)
    params = list(net.parameters())
    out = net(_images(torch, 1))
    return len(params), params[0].size(), out


@idiom
def zero_grad_then_backward_random(torch):
    net = _lenet(torch)
    out = net(_images(torch, 1))
    net.zero_grad()
    out.backward(torch.linspace(-1, 1, 10).reshape(1, 10))
    return net.conv1.bias.grad


@idiom
def criterion_and_sgd_step(torch):
    net = _lenet(torch)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    inputs, labels = _images(torch), torch.tensor([1, 0, 3, 9])
    for _ in range(2):
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()
    return loss, net.fc2.bias


@idiom
def train_eval_modes(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.train()
    a = model.training
    model.eval()
    return a, model.training, model[1].training


@idiom
def weights_init_apply(torch):
    nn = torch.nn

    def weights_init(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
            nn.init.constant_(m.weight, 0.5)

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    model.apply(weights_init)
    return model(torch.ones(1, 2))


@idiom(ref=False)
def dcgan_weights_init_through_data(torch):
    nn = torch.nn
    m = nn.Conv2d(3, 8, 3)
    torch.manual_seed(0)
    m.weight.data.normal_(0.0, 0.02)
    m.bias.data.fill_(0)
    assert abs(float(m.weight.std()) - 0.02) < 0.01 and float(m.bias.abs().sum()) == 0.0
    return m.weight.requires_grad


@idiom(waits_for=_LOAD_WAIT)
def state_dict_round_trip(torch):
    model = _fill(torch, torch.nn.Linear(3, 2))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.pth")
        torch.save(model.state_dict(), path)
        fresh = torch.nn.Linear(3, 2)
        fresh.load_state_dict(torch.load(path, weights_only=True))
    return fresh.weight, sorted(fresh.state_dict())


@idiom
def step_lr_schedule(torch):
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        optimizer.step()
        scheduler.step()
        lrs.append(round(optimizer.param_groups[0]["lr"], 8))
    return lrs


@idiom(waits_for=_ADADELTA_WAIT)
def adadelta_like_mnist_example(torch):
    model = _fill(torch, torch.nn.Linear(3, 2))
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    loss = model(torch.ones(4, 3)).pow(2).sum()
    loss.backward()
    optimizer.step()
    return model.weight


@idiom(waits_for=_UTILS_WAIT)
def tensor_dataset_dataloader(torch):
    from_utils = torch.utils.data
    ds = from_utils.TensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    loader = from_utils.DataLoader(ds, batch_size=2, shuffle=False)
    return [(x.shape, y.tolist()) for x, y in loader]


# --------------------------------------------------------------------------- runner
def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _same(ours, theirs, where: str = "result") -> None:
    """Assert cnnlab's result equals PyTorch's: tensors by dtype, shape and value."""
    if real_torch is not None and isinstance(theirs, real_torch.Tensor):
        assert isinstance(ours, cnnlab.Tensor), f"{where}: expected a Tensor, got {ours!r}"
        assert _dtype_name(ours.dtype) == _dtype_name(theirs.dtype), f"{where}: dtype"
        np.testing.assert_allclose(
            ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=where
        )
    elif real_torch is not None and isinstance(theirs, (real_torch.device, real_torch.dtype)):
        assert _dtype_name(theirs) == _dtype_name(ours), where
    elif isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), f"{where}: length"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            _same(o, t, f"{where}[{i}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-6), where
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-5, err_msg=where)
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def _params():
    out = []
    for name, (_, _, waits_for) in IDIOMS.items():
        marks = (
            [pytest.mark.xfail(reason=f"waits for {waits_for}", strict=True)] if waits_for else []
        )
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", _params())
def test_idiom(name):
    fn, ref, _ = IDIOMS[name]
    ours = fn(cnnlab)
    if ref and real_torch is not None:
        _same(ours, fn(real_torch))


def test_the_suite_has_the_issue_s_57_idioms_and_55_run_here():
    assert len(IDIOMS) >= 57
    waiting = [n for n, (_, _, w) in IDIOMS.items() if w]
    assert len(IDIOMS) - len(waiting) >= 55, waiting
