"""Ready-made pieces of a training run, built from plain settings: data sets, loaders,
augmentation, the model, optimiser and learning-rate schedule.

``cnnlab train`` turns its options into a config dict and calls these; scripts can too.
The data names are ``fashion-mnist``, ``mnist``, ``mnist-subset``, ``digits``, ``cifar10``,
``fashion-scenes``, ``mnist-scenes`` (64x64 scenes, for ``--task segment`` and ``--task
detect``) or a folder of images (``root/<class>/*.png``, or ``root/train/<class>`` and
``root/test/<class>``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from cnnlab import data as cdata
from cnnlab.data import transforms as T
from cnnlab.data.mask_transforms import RandomShiftFlip

__all__ = [
    "DATA_NAMES",
    "DEFAULTS",
    "MODEL_DEFAULTS",
    "build_loaders",
    "build_split_loaders",
    "build_model",
    "build_optimizer",
    "build_scheduler",
    "defaults_for",
    "load_datasets",
]

DATA_NAMES = (
    "fashion-mnist", "mnist", "mnist-subset", "digits", "cifar10", "fashion-scenes", "mnist-scenes"
)  # fmt: skip
SCENE_NAMES = ("fashion-scenes", "mnist-scenes")  # 64x64 scenes: --task segment

# The default recipe: >= 92.5% Fashion-MNIST test accuracy in <= 15 minutes on 2 CPU cores.
# Measured figures (and the stronger recipe) are in the README's training section.
DEFAULTS = {
    "model": "fashion_cnn",
    "data": "fashion-mnist",
    "epochs": 7,
    "batch_size": 128,
    "optimizer": "sgd",
    "lr": None,  # per optimiser: sgd 0.1, adam 2e-3
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "label_smoothing": 0.1,
    "warmup_epochs": 0.5,
    "augment": False,
    "limit": None,
    "val_split": 0.0,  # fraction of the training images held out to pick best.safetensors
    "seed": 0,
    "workers": 1,
    "image_size": 32,  # only for image folders
    "grayscale": False,  # only for image folders
    "grad_clip": None,  # clip the gradients' global norm to this before each step
    "pretrained": False,  # the ImageNet weights (efficientnet_lite0): see the README's transfer
    "freeze": None,  # with pretrained: "features", "none" or a layer name
    "lr_body": None,  # the learning rate of everything but the head (default: lr)
    "grey": None,  # with pretrained on grey images: "repeat" (default) or "average"
}
DEFAULT_LR = {"sgd": 0.1, "adam": 2e-3, "adamw": 2e-3}

# Per-model defaults, applied over DEFAULTS and under the user's options. Recurrent nets:
# Adam (SGD's one learning rate fits the recurrent and the input weights badly), gradient
# clipping (backpropagation through time can explode: see cnnlab.ops.recurrent) and
# augmentation (lstm_rows on the MNIST subset: 98.00% without, 98.5% with; README).
_RECURRENT = {
    "optimizer": "adam",
    "grad_clip": 1.0,
    "weight_decay": 0.0,
    "epochs": 30,
    "augment": True,
}
MODEL_DEFAULTS = {"lstm_rows": _RECURRENT, "gru_rows": _RECURRENT, "conv_lstm": _RECURRENT}


def defaults_for(model: str | None) -> dict:
    """``DEFAULTS`` with the per-model defaults of ``model`` (default: the default model)."""
    return {**DEFAULTS, **MODEL_DEFAULTS.get(model or DEFAULTS["model"], {})}


_STATS = {  # per-channel mean and std of the training images in [0, 1]
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "fashion-scenes": ((0.0,), (1.0,)),  # mostly black canvases: pixels stay in [0, 1]
    "mnist-scenes": ((0.0,), (1.0,)),
    "mnist": ((0.1307,), (0.3081,)),
    "mnist-subset": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}


def _folder_datasets(path: Path, image_size: int, grayscale: bool):
    def folder(p):
        return cdata.ImageFolder(p, grayscale=grayscale, size=image_size)

    for test_name in ("test", "val"):
        if (path / "train").is_dir() and (path / test_name).is_dir():
            return folder(path / "train"), folder(path / test_name)
    # two copies of the folder so that train and test can carry different transforms
    full, held_out = folder(path), folder(path)
    order = np.random.default_rng(0).permutation(len(full))
    n_test = max(1, len(full) // 10)
    return cdata.Subset(full, order[n_test:]), cdata.Subset(held_out, order[:n_test])


def load_datasets(data: str, root=None, image_size: int = 32, grayscale: bool = False):
    """``(train, test)`` datasets for a data name or folder (see the module docstring)."""
    if data == "fashion-mnist":
        return cdata.FashionMNIST(root, train=True), cdata.FashionMNIST(root, train=False)
    if data == "mnist":
        return cdata.MNIST(root, train=True), cdata.MNIST(root, train=False)
    if data == "mnist-subset":
        return cdata.MNISTSubset(root, train=True), cdata.MNISTSubset(root, train=False)
    if data == "digits":
        return cdata.Digits(train=True), cdata.Digits(train=False)
    if data == "cifar10":
        root = Path(root) if root is not None else cdata.data_dir()
        return cdata.CIFAR10(root, train=True), cdata.CIFAR10(root, train=False)
    if data in SCENE_NAMES:
        cls = cdata.FashionScenes if data == "fashion-scenes" else cdata.MNISTScenes
        return cls(root, train=True, target_type="mask"), cls(root, train=False, target_type="mask")
    path = Path(data)
    if path.is_dir():
        return _folder_datasets(path, image_size, grayscale)
    raise cdata.DatasetError(
        f"unknown data {data!r}: expected one of {', '.join(DATA_NAMES)} or an image folder"
    )


def sample_shape(ds) -> tuple:
    """(C, H, W) of the dataset's images."""
    return tuple(np.asarray(ds[0][0]).shape)


def image_stats(data: str, ds, max_images: int = 2000) -> tuple[tuple, tuple]:
    """Per-channel mean and std: known values for named data sets, else from a sample."""
    if data in _STATS:
        return _STATS[data]
    n = min(len(ds), max_images)
    idx = np.random.default_rng(0).permutation(len(ds))[:n]
    imgs = np.stack([np.asarray(ds[int(i)][0]) for i in idx]).astype(np.float64)
    mean = imgs.mean(axis=(0, 2, 3))
    std = np.maximum(imgs.std(axis=(0, 2, 3)), 1e-3)
    return tuple(round(float(m), 4) for m in mean), tuple(round(float(s), 4) for s in std)


def augmentation(data: str, size: tuple) -> list:
    """Training-time augmentation for ``data``: small shifts for all, flips except digits."""
    h, w = size
    pad = max(1, h // 8)
    if data in ("mnist", "mnist-subset", "digits"):  # digits are not mirror-symmetric
        return [T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))]
    return [T.RandomCrop((h, w), padding=pad), T.RandomHorizontalFlip()]


def _set_transform(ds, transform) -> None:
    target = getattr(ds, "dataset", ds)  # Subset -> its dataset
    target.transform = transform


def build_loaders(cfg: dict, root=None):
    """``(train_loader, test_loader, info)``; ``info`` has classes, channels, size, mean, std.

    The train and test sets must not share a dataset object (transforms differ). With
    ``cfg['val_split']`` the held-out validation images are left out of ``train_loader``
    (:func:`build_split_loaders` returns them too).
    """
    train_loader, _, test_loader, info = build_split_loaders(cfg, root)
    return train_loader, test_loader, info


def _twin(ds):
    """A second dataset object over the same images, so it can carry its own transform."""
    if isinstance(ds, cdata.Subset):
        return cdata.Subset(copy.copy(ds.dataset), ds.indices)
    return copy.copy(ds)


def build_split_loaders(cfg: dict, root=None):
    """``(train_loader, val_loader, test_loader, info)``.

    ``cfg['val_split']`` (a fraction in [0, 1)) of the training images, after ``limit``,
    chosen by a permutation seeded with ``cfg['seed']``, become the validation set: not
    augmented, never trained on. ``val_loader`` is None when the split is 0, and then the
    test set is the only held-out data (a run's best checkpoint is picked on it).
    """
    if cfg["data"] in SCENE_NAMES and cfg.get("task", "classify") != "segment":
        raise ValueError(
            f"--data {cfg['data']} holds scenes, not single images: use --task segment "
            "or --task detect"
        )
    split = float(cfg.get("val_split") or 0.0)
    if not 0.0 <= split < 1.0:
        raise ValueError(f"--val-split must be in [0, 1), got {split}")
    train_ds, test_ds = load_datasets(
        cfg["data"], root, cfg.get("image_size", 32), cfg.get("grayscale", False)
    )
    classes = list(getattr(train_ds, "classes", None) or [])
    if cfg["data"] in SCENE_NAMES:  # a segmenter's classes are the mask values
        classes = list(train_ds.mask_classes)
    c, h, w = sample_shape(train_ds)
    mean, std = image_stats(cfg["data"], train_ds)
    if cfg.get("pretrained"):  # pixels in [0, 1]: the pretrained model normalises inside
        mean, std = (0.0,) * c, (1.0,) * c
    norm = T.Normalize(mean, std)
    segment = cfg["data"] in SCENE_NAMES
    augment = augmentation(cfg["data"], (h, w)) if cfg.get("augment") and not segment else []
    if not classes:
        classes = [str(i) for i in range(int(np.max(train_ds.targets)) + 1)]
    val_ds = _twin(train_ds) if split else None
    if segment and cfg.get("augment"):  # the mask must move with the image
        train_ds.transforms = RandomShiftFlip(padding=max(1, h // 16), p=0.5)
    _set_transform(train_ds, T.Compose([*augment, norm]))
    _set_transform(test_ds, T.Compose([norm]))
    if cfg.get("test_limit"):  # the first N test images (cheaper per-epoch evaluation)
        test_ds = cdata.Subset(test_ds, np.arange(min(int(cfg["test_limit"]), len(test_ds))))
    kept = np.arange(len(train_ds))
    if cfg.get("limit"):
        kept = kept[: min(int(cfg["limit"]), len(train_ds))]
    if val_ds is not None:
        _set_transform(val_ds, T.Compose([norm]))
        order = np.random.default_rng(int(cfg.get("seed", 0))).permutation(kept)
        n_val = int(round(split * len(kept)))
        if n_val < 1 or n_val >= len(kept):
            raise ValueError(
                f"--val-split {split} of {len(kept)} training images leaves "
                f"{n_val} for validation and {len(kept) - n_val} for training"
            )
        val_ds = cdata.Subset(val_ds, np.sort(order[:n_val]))
        kept = np.sort(order[n_val:])
    if len(kept) < len(train_ds):
        train_ds = cdata.Subset(train_ds, kept)
    workers = int(cfg.get("workers") or 1)
    train_loader = cdata.DataLoader(
        train_ds,
        cfg["batch_size"],
        shuffle=True,
        drop_last=False,
        seed=cfg.get("seed", 0),
        num_workers=workers,
    )

    def eval_loader(ds):
        # a fixed seed: an unseeded loader would draw one from the global generator at its
        # first evaluation, and where that draw falls would shift every later random number
        size = max(cfg["batch_size"], 256)
        return cdata.DataLoader(ds, size, shuffle=False, seed=0, num_workers=workers)

    test_loader = eval_loader(test_ds)
    val_loader = None if val_ds is None else eval_loader(val_ds)
    info = {
        "classes": classes,
        "num_classes": len(classes),
        "in_channels": c,
        "input_size": [h, w],
        "mean": list(mean),
        "std": list(std),
    }
    return train_loader, val_loader, test_loader, info


def build_model(cfg: dict, info: dict):
    """The registered model ``cfg['model']`` for ``info``'s classes, channels and size."""
    from cnnlab import models

    options = dict(cfg.get("model_options") or {})
    if models.accepts(cfg["model"], "input_size") and "input_size" not in options:
        h, w = info["input_size"]
        if h == w:
            options["input_size"] = h
    if cfg.get("pretrained"):
        return _pretrained_model(cfg, info, options)
    for key in ("freeze", "grey"):
        if cfg.get(key) not in (None, "none"):
            raise ValueError(f"--{key} {cfg[key]} needs --pretrained")
    cfg["model_options"] = options
    return models.create(
        cfg["model"], num_classes=info["num_classes"], in_channels=info["in_channels"], **options
    )


def _pretrained_model(cfg: dict, info: dict, options: dict):
    """``--pretrained``: the ImageNet body with a fresh head, grey images adapted
    (``cfg['grey']``, default repeat), inputs resized in the model to ``image_size``, and
    ``cfg['freeze']``: ``features`` (all but the head), ``none`` or a layer name."""
    from cnnlab import models
    from cnnlab.nn.freeze import freeze, head_name

    if info["in_channels"] == 1:
        options["grey"] = cfg.get("grey") or "repeat"
    if cfg.get("image_size") and models.accepts(cfg["model"], "image_size"):
        options["image_size"] = int(cfg["image_size"])
    cfg["model_options"] = options
    model = models.create(
        cfg["model"],
        num_classes=info["num_classes"],
        in_channels=info["in_channels"],
        pretrained=True,
        **options,
    )
    how = cfg.get("freeze") or "none"
    if how == "features":
        names = [n for n, _ in model.named_modules()]
        freeze(model, up_to=names[names.index(head_name(model)) - 1])
    elif how != "none":
        freeze(model, up_to=how)
    return model


def build_optimizer(cfg: dict, model):
    """SGD (Nesterov momentum), Adam (L2 weight decay added to the gradient) or AdamW
    (decoupled weight decay); weight decay skips biases and norm parameters."""

    name = cfg.get("optimizer", "sgd")
    if name not in DEFAULT_LR:
        raise ValueError(f"unknown optimizer {name!r}: expected one of {', '.join(DEFAULT_LR)}")
    lr = cfg.get("lr") or DEFAULT_LR[name]
    if cfg.get("pretrained") or cfg.get("lr_body") is not None:
        from cnnlab.nn.freeze import param_groups

        groups = param_groups(model, lr, cfg.get("lr_body"), cfg.get("weight_decay", 0.0))
        groups = [{k: v for k, v in g.items() if k != "name"} for g in groups]
        return _optimizer(name, groups, lr, cfg)
    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.get("weight_decay", 0.0)},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    return _optimizer(name, groups, lr, cfg)


def _optimizer(name: str, groups: list, lr: float, cfg: dict):
    from cnnlab import optim

    if name == "sgd":
        return optim.SGD(groups, lr=lr, momentum=cfg.get("momentum", 0.9), nesterov=True)
    if name == "adam":
        return optim.Adam(groups, lr=lr)
    return optim.AdamW(groups, lr=lr)


def build_scheduler(cfg: dict, optimizer, steps_per_epoch: int):
    """Per-step schedule: linear warm-up for ``warmup_epochs``, then ``cfg['schedule']``:
    ``'cosine'`` (default) decays to zero, ``'constant'`` keeps the peak rate, ``'steps'``
    divides it by 10 at each fraction of the run in ``cfg['milestones']`` (He et al.'s
    schedule: 0.5 and 0.75)."""
    from cnnlab.optim import lr_scheduler as S

    total = max(1, int(cfg["epochs"]) * steps_per_epoch)
    warm = min(total - 1, int(round(float(cfg.get("warmup_epochs", 0)) * steps_per_epoch)))
    schedule = cfg.get("schedule") or "cosine"
    if schedule == "cosine":
        after = S.CosineAnnealingLR(optimizer, T_max=max(1, total - warm))
    elif schedule == "constant":
        after = S.LambdaLR(optimizer, lambda step: 1.0)
    elif schedule == "steps":
        fractions = cfg.get("milestones") or (0.5, 0.75)
        marks = sorted({max(1, int(f * total) - warm) for f in fractions})
        after = S.MultiStepLR(optimizer, milestones=marks, gamma=0.1)
    else:
        raise ValueError(f"unknown schedule {schedule!r}: expected 'cosine', 'constant' or 'steps'")
    if warm <= 0:
        return after
    linear = S.LinearLR(optimizer, start_factor=0.05, end_factor=1.0, total_iters=warm)
    return S.SequentialLR(optimizer, [linear, after], milestones=[warm])
