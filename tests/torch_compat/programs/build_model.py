"""Building a network, as the build-model tutorial walks through it: a Module subclass, its
forward on random input, softmax probabilities, then each layer (Flatten, Linear, ReLU,
Sequential, Softmax) on a small batch, and the named parameters. Seeded inputs come from
linspace so the script prints the same shapes and sums under PyTorch."""

import json

import torch
from torch import nn

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


torch.manual_seed(0)
model = NeuralNetwork().to(device)
print(model)

X = torch.rand(1, 28, 28, device=device)
logits = model(X)
pred_probab = nn.Softmax(dim=1)(logits)
y_pred = pred_probab.argmax(1)
print(f"Predicted class: {y_pred}")

input_image = torch.linspace(0, 1, 3 * 28 * 28).reshape(3, 28, 28)
flat_image = nn.Flatten()(input_image)
layer1 = nn.Linear(in_features=28 * 28, out_features=20)
with torch.no_grad():
    layer1.weight.copy_(torch.linspace(-0.05, 0.05, 20 * 784).reshape(20, 784))
    layer1.bias.fill_(0.01)
hidden1 = layer1(flat_image)
print(f"Before ReLU: {hidden1}\n\n")
hidden1 = nn.ReLU()(hidden1)
print(f"After ReLU: {hidden1}")
seq_modules = nn.Sequential(nn.Flatten(), layer1, nn.ReLU(), nn.Linear(20, 10))
probab = nn.Softmax(dim=1)(seq_modules(input_image))

names = []
for name, param in model.named_parameters():
    print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
    names.append([name, list(param.size())])

print(
    "RESULT",
    json.dumps(
        {
            "logits_shape": list(logits.shape),
            "prob_sum": pred_probab.sum().item(),
            "flat_shape": list(flat_image.size()),
            "hidden_sum": hidden1.sum().item(),
            "probab_shape": list(probab.shape),
            "probab_row_sums": probab.sum(dim=1).tolist(),
            "parameters": names,
            "n_params": sum(p.numel() for p in model.parameters()),
        }
    ),
)
