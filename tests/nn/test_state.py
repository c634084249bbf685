"""state_dict across frameworks (cnnlab/nn/state.py): a PyTorch CNN's state_dict loads key
for key and the outputs, running statistics and gradients then match torch's."""

from collections import OrderedDict

import numpy as np

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, torch


class _TorchCNN(torch.nn.Module if torch is not None else object):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )
        self.classifier = torch.nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.classifier = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        return self.classifier(cnnlab.flatten(self.features(x), 1))


@requires_torch
def test_torch_state_dict_loads_and_matches_outputs():
    torch.manual_seed(0)
    ref = _TorchCNN()
    with torch.no_grad():  # non-trivial running stats and affine parameters
        ref.features[1].running_mean.uniform_(-1, 1)
        ref.features[1].running_var.uniform_(0.5, 2)
        ref.features[1].weight.uniform_(0.5, 1.5)
        ref.features[1].bias.uniform_(-0.5, 0.5)
    model = _CNN()
    assert list(model.state_dict()) == list(ref.state_dict())
    model.load_state_dict(ref.state_dict())  # torch tensors, key for key
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)

    ref.eval()
    model.eval()
    with torch.no_grad():
        expected = ref(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(cnnlab.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)

    ref.train()
    model.train()
    xt, xc = torch.tensor(x, requires_grad=True), cnnlab.tensor(x, requires_grad=True)
    out_t, out_c = ref(xt), model(xc)
    np.testing.assert_allclose(out_c.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    for k, v in ref.state_dict().items():  # running stats updated the same way
        np.testing.assert_allclose(
            model.state_dict()[k], v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k
        )
    out_t.sum().backward()
    out_c.sum().backward()
    for (name, p), (tname, tp) in zip(model.named_parameters(), ref.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


@requires_torch
def test_parameter_requiring_grad_loads_from_torch_module():
    lin = torch.nn.Linear(3, 2)
    ours = nn.Linear(3, 2)
    ours.load_state_dict(OrderedDict(lin.named_parameters()))  # tensors that require grad
    np.testing.assert_array_equal(ours.weight.numpy(), lin.weight.detach().numpy())
