"""``torchvision`` under cnnlab: ``datasets`` (MNIST, FashionMNIST, CIFAR10, FakeData),
``transforms``, ``io`` (read_image, write_png), ``utils`` (make_grid, save_image), ``ops``
(box_iou, nms, batched_nms) and ``models`` over the zoo."""

from cnnlab.vision import datasets, io, models, ops, transforms, utils

__all__ = ["datasets", "io", "models", "ops", "transforms", "utils"]
