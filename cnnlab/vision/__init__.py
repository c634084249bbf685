"""``torchvision`` under cnnlab: ``datasets`` (MNIST, FashionMNIST, CIFAR10, FakeData),
``transforms``, ``utils`` (make_grid, save_image) and ``models`` over the zoo."""

from cnnlab.vision import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
