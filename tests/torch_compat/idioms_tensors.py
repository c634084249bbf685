"""Idioms of the tensors tutorial and everyday tensor code: devices, creation, operations."""

from __future__ import annotations

import math

import numpy as np

from tests.torch_compat.registry import (
    idiom,
)


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
def products_into_out(torch):
    tensor = torch.arange(6.0).reshape(2, 3)
    y3 = torch.rand_like(tensor @ tensor.T)
    torch.matmul(tensor, tensor.T, out=y3)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    return y3, z3


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
