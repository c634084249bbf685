"""``torchvision`` under cnnlab: ``datasets`` (MNIST, FashionMNIST, CIFAR10, FakeData),
``transforms``, ``utils`` (make_grid, save_image), ``ops`` (box_iou, nms, batched_nms) and
``models`` over the zoo."""

from cnnlab.vision import datasets, models, ops, transforms, utils

__all__ = ["datasets", "models", "ops", "transforms", "utils"]
