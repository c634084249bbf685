"""Automatic differentiation as the autograd tutorial shows it: a one-layer logistic
model's gradients, grad_fn, disabling tracking (no_grad, detach) and vector-Jacobian
products with accumulation. Inputs come from linspace, so PyTorch prints the same numbers."""

import json

import torch

x = torch.ones(5)
y = torch.zeros(3)
w = torch.linspace(-1, 1, 15).reshape(5, 3).requires_grad_()
b = torch.linspace(0.1, 0.3, 3).requires_grad_()
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}")
print(f"Gradient function for loss = {loss.grad_fn}")
loss.backward()
print(w.grad)
print(b.grad)

z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)

inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
first = inp.grad.clone()
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
second = inp.grad.clone()
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

print(
    "RESULT",
    json.dumps(
        {
            "loss": loss.item(),
            "w_grad": w.grad.tolist(),
            "b_grad": b.grad.tolist(),
            "requires_grad": [z.requires_grad, z_det.requires_grad],
            "first": first.tolist(),
            "second": second.tolist(),
            "zeroed": inp.grad.tolist(),
        }
    ),
)
