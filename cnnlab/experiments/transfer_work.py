"""The jobs of the ``transfer`` experiment's sub-runs: feature extraction (cached on disk),
the linear probe and kNN on frozen features, fine-tuning the last stage and head on cached
activations, fine-tuning everything (LP-FT), training ``fashion_cnn`` from scratch (on the
experiment's data or another's). A network trained on another data set as the source of
features: :mod:`cnnlab.experiments.transfer_source`.

Every job takes the experiment's :class:`~cnnlab.experiments.runner.Context` and returns the
summary of its sub-run (``test_acc`` and what it measured). Data and features are loaded
once per process and kept in ``ctx.extra``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cnnlab.experiments.registry import ExperimentError
from cnnlab.transfer import finetune as _finetune  # noqa: F401 (loaded before a long run)
from cnnlab.transfer.cache import cached_extract, layer_key
from cnnlab.transfer.subsets import per_class

MODEL = "efficientnet_lite0"
TOP_BLOCK = 15  # EfficientNet-Lite0's last stage is _blocks.15 (192 -> 320 channels)
TOP_INPUT = f"_blocks.{TOP_BLOCK - 1}"


def arrays(ctx, data: str | None = None) -> dict:
    """``{'train': (x, y), 'test': (x, y)}`` of ``data`` (default the experiment's), pixels in
    [0, 1], cut to the ``train_images`` / ``test_images`` knobs."""
    from cnnlab.train import recipes

    data = data or ctx.data
    key = f"arrays:{data}"
    if key not in ctx.extra:
        train_ds, test_ds = recipes.load_datasets(data, ctx.root)
        out = {}
        for split, ds, limit in (
            ("train", train_ds, ctx.knobs.get("train_images")),
            ("test", test_ds, ctx.knobs.get("test_images")),
        ):
            n = min(int(limit), len(ds)) if limit else len(ds)
            got = ds.get_batch(np.arange(n)) if hasattr(ds, "get_batch") else None
            if got is None:
                pairs = [ds[i] for i in range(n)]
                got = np.stack([p[0] for p in pairs]), np.array([p[1] for p in pairs])
            out[split] = (np.asarray(got[0], np.float32), np.asarray(got[1], np.int64))
        ctx.extra[key] = out
    return ctx.extra[key]


def subset(ctx, n: int | None, seed: int, data: str | None = None) -> np.ndarray:
    """Indices (into the training arrays of ``data``, default the experiment's) of ``n``
    labelled images per class, or all."""
    data = data or ctx.data
    y = arrays(ctx, data)["train"][1]
    try:
        return per_class(y, n, seed, name=f"{data} (its first {len(y)} training images)")
    except ValueError as e:
        raise ExperimentError(f"experiment 'transfer': {e}") from None


def _pretrained(ctx, size: int):
    from cnnlab import models

    c = arrays(ctx)["train"][0].shape[1]
    return models.create(
        MODEL,
        pretrained=True,
        num_classes=ctx.num_classes,
        in_channels=c,
        grey="repeat" if c == 1 else None,
        image_size=size,
    )


def _cache_path(ctx, size: int, split: str, tag: str = "", data: str | None = None) -> Path:
    from cnnlab.io.pretrained import data_dir

    data = data or ctx.data
    root = Path(ctx.knobs["cache"]) if ctx.knobs.get("cache") else data_dir() / "features"
    limit = ctx.knobs.get("train_images" if split == "train" else "test_images")
    name = Path(str(data)).name
    held = len(arrays(ctx, data)[split][1])
    # a cut names the file only where it cut something (the digits have 8,000 images)
    cut = f"-first{int(limit)}" if limit and (data == ctx.data or int(limit) <= held) else ""
    return root / f"{MODEL}-{size}px-{name}-{split}{cut}{tag}.npz"


def pool_224(ctx) -> np.ndarray:
    """The training images the second (larger, slower) input size needs: every subset its
    probes use."""
    k = ctx.knobs
    picks = [subset(ctx, n, s) for n in k["counts_size2"] for s in seeds_for(ctx, n)]
    return np.unique(np.concatenate(picks)) if picks else np.zeros(0, np.int64)


def seeds_for(ctx, n) -> list[int]:
    """Several seeds for the small label counts, one for the others."""
    return list(ctx.seeds) if n is not None and n <= ctx.knobs["many_seeds_up_to"] else [0]


def frozen_features(
    ctx, size: int, split: str, progress: bool = False, data: str | None = None
) -> dict:
    """Cached features (``head_input``; at the first size also the last stage's input) of
    the training pool or the test set at input size ``size``; of ``data`` (another data
    set, e.g. the reverse transfer's target: every image, the classifier's input only)."""
    if data not in (None, ctx.data):
        key = f"features:{data}:{size}:{split}"
        if key not in ctx.extra:
            path = _cache_path(ctx, size, split, data=data)
            path.parent.mkdir(parents=True, exist_ok=True)
            xy = arrays(ctx, data)[split]
            ctx.extra[key] = cached_extract(
                path, lambda: _pretrained(ctx, size), xy, (None,), progress=progress
            )
        return ctx.extra[key]
    key = f"features:{size}:{split}"
    if key in ctx.extra:
        return ctx.extra[key]
    x, y = arrays(ctx)["train" if split == "train" else "test"]
    first = size == ctx.knobs["sizes"][0]
    layers = (None, TOP_INPUT) if first else (None,)
    indices, tag = None, ""
    if not first and split == "train":
        indices = pool_224(ctx)
        tag = f"-pool{len(indices)}"
    if not first and split == "test" and ctx.knobs.get("test_images_size2"):
        indices = np.arange(min(int(ctx.knobs["test_images_size2"]), len(y)))
        tag = f"-{len(indices)}"
    path = _cache_path(ctx, size, split, tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    got = cached_extract(
        path,
        lambda: _pretrained(ctx, size),
        (x, y),
        layers,
        indices=indices,
        progress=progress,
        float16=(TOP_INPUT,),
    )
    ctx.extra[key] = got
    return got


def extract_job(ctx, size: int, data: str | None = None):
    def work(run_dir: Path) -> dict:
        start = time.perf_counter()
        n = 0
        for split in ("test", "train"):
            n += len(frozen_features(ctx, size, split, progress=True, data=data)["labels"])
        wall = time.perf_counter() - start
        return {"images": n, "size": size, "extract_s": round(wall, 1), "test_acc": None}

    return work


def _train_rows(feats: dict, want: np.ndarray) -> np.ndarray:
    """Rows of a cached training pool holding the training images ``want``."""
    where = np.searchsorted(feats["indices"], want)
    if np.any(where >= len(feats["indices"])) or np.any(feats["indices"][where] != want):
        raise ExperimentError("experiment 'transfer': the feature cache lacks some images")
    return where


def probe_job(ctx, size: int, n, seed: int, method: str, data: str | None = None):
    def work(run_dir: Path) -> dict:
        from cnnlab.transfer import knn_classify

        tr = frozen_features(ctx, size, "train", data=data)
        te = frozen_features(ctx, size, "test", data=data)
        rows = _train_rows(tr, subset(ctx, n, seed, data))
        f, y = tr["head_input"][rows].astype(np.float32), tr["labels"][rows]
        if method == "knn":
            r = knn_classify(f, y, te["head_input"], te["labels"], k=ctx.knobs["knn_k"])
            return {"test_acc": r["acc"], "k": r["k"], "train_images": len(y)}
        return probe(ctx, f, y, te, classes(ctx, data), seed)

    return work


def probe(ctx, f: np.ndarray, y: np.ndarray, te: dict, num_classes: int, seed: int) -> dict:
    """The experiment's linear probe (its knobs) on training features ``f``/``y``, scored on
    the test features ``te``; the job's result row."""
    from cnnlab.transfer import linear_probe

    r = linear_probe(
        f,
        y,
        te["head_input"],
        te["labels"],
        C=ctx.knobs["probe_C"],
        normalize=ctx.knobs["probe_norm"],
        steps=ctx.knobs["probe_steps"],
        num_classes=num_classes,
        seed=seed,
    )
    return {"test_acc": r["acc"], "train_acc": r["train_acc"], "train_images": len(y)}


def top_job(ctx, n, seed: int):
    """Fine-tune the last stage, the 1x1 head conv and the classifier on the cached input
    of the last stage (the frozen part's output does not change: no augmentation)."""

    def work(run_dir: Path) -> dict:
        from cnnlab.nn.utils import freeze
        from cnnlab.transfer.finetune import accuracy, fit

        k, size = ctx.knobs, ctx.knobs["sizes"][0]
        tr, te = frozen_features(ctx, size, "train"), frozen_features(ctx, size, "test")
        key = layer_key(TOP_INPUT)
        side = int(round((tr[key].shape[1] / 192) ** 0.5))
        rows = _train_rows(tr, subset(ctx, n, seed))
        x = tr[key][rows].astype(np.float32).reshape(-1, 192, side, side)
        model = _pretrained(ctx, size)
        freeze(model, up_to=TOP_INPUT)

        def call(t):
            return model.forward_from(t, TOP_BLOCK)

        info = fit(
            model,
            x,
            tr["labels"][rows],
            epochs=k["ft_epochs"],
            min_steps=k["ft_min_steps"],
            max_steps=k["top_max_steps"],
            batch_size=k["ft_batch"],
            lr=k["ft_lr"],
            lr_body=k["ft_lr"] * k["lr_body_factor"],
            bn_eval=True,
            seed=seed,
            call=call,
        )
        xt = te[key].astype(np.float32).reshape(-1, 192, side, side)
        acc = accuracy(model, xt, te["labels"], call=call)
        return {"test_acc": acc, "train_images": len(rows), **info}

    return work


def finetune_all_job(ctx, n, seed: int):
    """Fine-tune every layer. ``all_lp``: LP-FT (the head first fitted as a linear probe on
    the cached frozen features of the same images, then everything at ``all_lr``, the body
    at ``all_lr`` times ``all_body_factor``); else a fresh head at ``ft_lr``, the body at
    ``ft_lr`` times ``lr_body_factor``. ``all_bn_eval`` keeps the ImageNet statistics."""

    def work(run_dir: Path) -> dict:
        from cnnlab.transfer.finetune import accuracy, fit
        from cnnlab.transfer.lpft import probe_head

        k, size = ctx.knobs, ctx.knobs["sizes"][0]
        (x, y), (xt, yt) = arrays(ctx)["train"], arrays(ctx)["test"]
        idx = subset(ctx, n, seed)
        model = _pretrained(ctx, size)
        # the last m test images: the first 1,000 chose LP-FT's learning rate (README)
        m = min(int(k["test_images_all"] or len(yt)), len(yt))
        xt, yt, last = xt[len(yt) - m :], yt[len(yt) - m :], slice(len(yt) - m, None)
        extra = {}
        if k["all_lp"]:
            tr = frozen_features(ctx, size, "train")
            rows = _train_rows(tr, idx)
            f = tr["head_input"][rows].astype(np.float32)
            probe_head(model, f, y[idx], C=k["probe_C"], steps=k["probe_steps"], seed=seed)
            te = frozen_features(ctx, size, "test")["head_input"][last].astype(np.float32)
            # the probe stage's accuracy on the same test images, from the cached features
            logits = te @ np.asarray(model._fc.weight.array).T + np.asarray(model._fc.bias.array)
            extra["lp_test_acc"] = float((logits.argmax(1) == yt).mean())
            lr, lr_body = k["all_lr"], k["all_lr"] * k["all_body_factor"]
        else:
            lr, lr_body = k["ft_lr"], k["ft_lr"] * k["lr_body_factor"]
        info = fit(
            model,
            x[idx],
            y[idx],
            epochs=k["ft_epochs"],
            min_steps=k["ft_min_steps"],
            max_steps=k["all_max_steps"],
            batch_size=k["ft_batch"],
            lr=lr,
            lr_body=lr_body,
            bn_eval=k["all_bn_eval"],
            seed=seed,
        )
        start = time.perf_counter()
        acc = accuracy(model, xt, yt, batch_size=128)
        return {
            "test_acc": acc,
            "train_images": len(idx),
            "test_images": m,
            "eval_s": round(time.perf_counter() - start, 1),
            **extra,
            **info,
        }

    return work


def _normalised(ctx, data: str, x: np.ndarray) -> np.ndarray:
    from cnnlab.train import recipes

    train_ds, _ = recipes.load_datasets(data, ctx.root)
    mean, std = recipes.image_stats(data, train_ds)
    m = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return (x - m) / s


def classes(ctx, data: str | None = None) -> int:
    """The number of classes of ``data`` (default the experiment's)."""
    if data in (None, ctx.data):
        return ctx.num_classes
    return int(arrays(ctx, data)["train"][1].max()) + 1


def scratch_job(ctx, n, seed: int, data: str | None = None):
    """``scratch_model`` trained from scratch on ``n`` labelled images per class of ``data``
    (default the experiment's)."""

    def work(run_dir: Path) -> dict:
        import cnnlab
        from cnnlab import models
        from cnnlab.transfer.finetune import accuracy, fit

        k, name = ctx.knobs, data or ctx.data
        (x, y), (xt, yt) = arrays(ctx, name)["train"], arrays(ctx, name)["test"]
        idx = subset(ctx, n, seed, name)
        cnnlab.manual_seed(seed)
        model = models.create(
            k["scratch_model"], num_classes=classes(ctx, name), in_channels=x.shape[1]
        )
        info = fit(
            model,
            _normalised(ctx, name, x[idx]),
            y[idx],
            epochs=k["scratch_epochs"],
            min_steps=k["scratch_min_steps"],
            max_steps=k["scratch_max_steps"],
            batch_size=k["scratch_batch"],
            lr=k["scratch_lr"],
            seed=seed,
        )
        acc = accuracy(model, _normalised(ctx, name, xt), yt)
        return {"test_acc": acc, "train_images": len(idx), **info}

    return work
