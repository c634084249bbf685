"""Idioms of the autograd, build-model, optimisation, neural-networks and CIFAR-10
tutorials and the MNIST example: gradients, modules, losses, optimisers, saving."""

from __future__ import annotations

import math
import os
import tempfile

from tests.torch_compat.registry import (
    ADADELTA_WAIT,
    LOAD_WAIT,
    UTILS_WAIT,
    fill_weights,
    idiom,
    sample_images,
    small_lenet,
)


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
    net = fill_weights(torch, torch.nn.Linear(3, 2))
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
    model = fill_weights(
        torch, nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
    )
    logits = model(torch.linspace(0, 1, 32).reshape(2, 4, 4))
    return logits, nn.Softmax(dim=1)(logits).argmax(1)


@idiom
def named_parameters_sizes(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    return [(name, tuple(param.size())) for name, param in model.named_parameters()]


@idiom
def lenet_forward_and_params(torch):
    net = small_lenet(torch)
    params = list(net.parameters())
    out = net(sample_images(torch, 1))
    return len(params), params[0].size(), out


@idiom
def zero_grad_then_backward_random(torch):
    net = small_lenet(torch)
    out = net(sample_images(torch, 1))
    net.zero_grad()
    out.backward(torch.linspace(-1, 1, 10).reshape(1, 10))
    return net.conv1.bias.grad


@idiom
def criterion_and_sgd_step(torch):
    net = small_lenet(torch)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    inputs, labels = sample_images(torch), torch.tensor([1, 0, 3, 9])
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


@idiom(waits_for=LOAD_WAIT)
def state_dict_round_trip(torch):
    model = fill_weights(torch, torch.nn.Linear(3, 2))
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


@idiom(waits_for=ADADELTA_WAIT)
def adadelta_like_mnist_example(torch):
    model = fill_weights(torch, torch.nn.Linear(3, 2))
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    loss = model(torch.ones(4, 3)).pow(2).sum()
    loss.backward()
    optimizer.step()
    return model.weight


@idiom(waits_for=UTILS_WAIT)
def tensor_dataset_dataloader(torch):
    from_utils = torch.utils.data
    ds = from_utils.TensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    loader = from_utils.DataLoader(ds, batch_size=2, shuffle=False)
    return [(x.shape, y.tolist()) for x, y in loader]


# ------------------------------------------------------------------ later tutorials
@idiom
def dcgan_bce_with_label_tensors(torch):
    nn = torch.nn
    d = fill_weights(torch, nn.Sequential(nn.Flatten(), nn.Linear(196, 1), nn.Sigmoid()))
    criterion = nn.BCELoss()
    x = sample_images(torch)
    label = torch.full((4,), 1.0, dtype=torch.float)
    err_real = criterion(d(x).view(-1), label)
    err_real.backward()  # before fill_: BCE saved the label (both frameworks check it)
    label.fill_(0.0)
    err_fake = criterion(d(x.flip(0) * 0.5).view(-1), label)
    err_fake.backward()
    return err_real, err_fake, d[1].weight.grad


@idiom
def amp_scaled_training_step(torch):
    model = fill_weights(torch, small_lenet(torch))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        with torch.autocast(device_type="cpu", enabled=False):
            loss = torch.nn.functional.cross_entropy(
                model(sample_images(torch)), torch.tensor([0, 1, 2, 3])
            )
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    return losses, scaler.get_scale(), model.fc2.bias
