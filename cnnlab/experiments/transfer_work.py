"""The jobs of the ``transfer`` experiment's sub-runs: feature extraction (cached on disk),
the linear probe and kNN on frozen features, fine-tuning the last stage and head on cached
activations, fine-tuning everything, training ``fashion_cnn`` from scratch, and features of a
network trained on another data set (MNIST digits -> Fashion-MNIST).

Every job takes the experiment's :class:`~cnnlab.experiments.runner.Context` and returns the
summary of its sub-run (``test_acc`` and what it measured). Data and features are loaded
once per process and kept in ``ctx.extra``.
"""

from __future__ import annotations

import json
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


def subset(ctx, n: int | None, seed: int) -> np.ndarray:
    """Indices (into the training arrays) of ``n`` labelled images per class, or all."""
    y = arrays(ctx)["train"][1]
    try:
        return per_class(y, n, seed, name=f"{ctx.data} (its first {len(y)} training images)")
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


def _cache_path(ctx, size: int, split: str, tag: str = "") -> Path:
    from cnnlab.io.pretrained import data_dir

    root = Path(ctx.knobs["cache"]) if ctx.knobs.get("cache") else data_dir() / "features"
    limit = ctx.knobs.get("train_images" if split == "train" else "test_images")
    name = Path(str(ctx.data)).name
    cut = f"-first{int(limit)}" if limit else ""
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


def frozen_features(ctx, size: int, split: str, progress: bool = False) -> dict:
    """Cached features (``head_input``; at the first size also the last stage's input) of
    the training pool or the test set at input size ``size``."""
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


def extract_job(ctx, size: int):
    def work(run_dir: Path) -> dict:
        start = time.perf_counter()
        n = 0
        for split in ("test", "train"):
            n += len(frozen_features(ctx, size, split, progress=True)["labels"])
        wall = time.perf_counter() - start
        return {"images": n, "size": size, "extract_s": round(wall, 1), "test_acc": None}

    return work


def _train_rows(feats: dict, want: np.ndarray) -> np.ndarray:
    """Rows of a cached training pool holding the training images ``want``."""
    where = np.searchsorted(feats["indices"], want)
    if np.any(where >= len(feats["indices"])) or np.any(feats["indices"][where] != want):
        raise ExperimentError("experiment 'transfer': the feature cache lacks some images")
    return where


def probe_job(ctx, size: int, n, seed: int, method: str):
    def work(run_dir: Path) -> dict:
        from cnnlab.transfer import knn_classify, linear_probe

        tr, te = frozen_features(ctx, size, "train"), frozen_features(ctx, size, "test")
        rows = _train_rows(tr, subset(ctx, n, seed))
        f, y = tr["head_input"][rows].astype(np.float32), tr["labels"][rows]
        if method == "knn":
            r = knn_classify(f, y, te["head_input"], te["labels"], k=ctx.knobs["knn_k"])
            return {"test_acc": r["acc"], "k": r["k"], "train_images": len(y)}
        r = linear_probe(
            f,
            y,
            te["head_input"],
            te["labels"],
            C=ctx.knobs["probe_C"],
            normalize=ctx.knobs["probe_norm"],
            steps=ctx.knobs["probe_steps"],
            num_classes=ctx.num_classes,
            seed=seed,
        )
        return {"test_acc": r["acc"], "train_acc": r["train_acc"], "train_images": len(y)}

    return work


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
    def work(run_dir: Path) -> dict:
        from cnnlab.transfer.finetune import accuracy, fit

        k, size = ctx.knobs, ctx.knobs["sizes"][0]
        (x, y), (xt, yt) = arrays(ctx)["train"], arrays(ctx)["test"]
        idx = subset(ctx, n, seed)
        model = _pretrained(ctx, size)
        info = fit(
            model,
            x[idx],
            y[idx],
            epochs=k["ft_epochs"],
            min_steps=k["ft_min_steps"],
            max_steps=k["all_max_steps"],
            batch_size=k["ft_batch"],
            lr=k["ft_lr"],
            lr_body=k["ft_lr"] * k["lr_body_factor"],
            bn_eval=k["all_bn_eval"],
            seed=seed,
        )
        start = time.perf_counter()
        m = min(int(k["test_images_all"] or len(yt)), len(yt))  # the first m test images
        acc = accuracy(model, xt[:m], yt[:m], batch_size=128)
        return {
            "test_acc": acc,
            "train_images": len(idx),
            "eval_s": round(time.perf_counter() - start, 1),
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


def scratch_job(ctx, n, seed: int):
    def work(run_dir: Path) -> dict:
        from cnnlab import models
        from cnnlab.transfer.finetune import accuracy, fit

        k = ctx.knobs
        (x, y), (xt, yt) = arrays(ctx)["train"], arrays(ctx)["test"]
        idx = subset(ctx, n, seed)
        import cnnlab

        cnnlab.manual_seed(seed)
        model = models.create(
            k["scratch_model"], num_classes=ctx.num_classes, in_channels=x.shape[1]
        )
        info = fit(
            model,
            _normalised(ctx, ctx.data, x[idx]),
            y[idx],
            epochs=k["scratch_epochs"],
            min_steps=k["scratch_min_steps"],
            max_steps=k["scratch_max_steps"],
            batch_size=k["scratch_batch"],
            lr=k["scratch_lr"],
            seed=seed,
        )
        acc = accuracy(model, _normalised(ctx, ctx.data, xt), yt)
        return {"test_acc": acc, "train_images": len(idx), **info}

    return work


def source_job(ctx):
    """Train ``scratch_model`` on the source data (MNIST digits), then cache its features
    (the classifier's input) on the target's training pool and test set."""

    def work(run_dir: Path) -> dict:
        from cnnlab import models
        from cnnlab.transfer import extract
        from cnnlab.transfer.finetune import accuracy, fit

        k, src = ctx.knobs, ctx.knobs["source"]
        s = arrays(ctx, src)
        (x, y), (xt, yt) = s["train"], s["test"]
        import cnnlab

        cnnlab.manual_seed(0)
        model = models.create(
            k["scratch_model"], num_classes=int(y.max()) + 1, in_channels=x.shape[1]
        )
        info = fit(
            model, _normalised(ctx, src, x), y, epochs=k["source_epochs"], batch_size=128, lr=0.05
        )
        src_acc = accuracy(model, _normalised(ctx, src, xt), yt)
        out = {}
        for split in ("train", "test"):
            tx, ty = arrays(ctx)[split]
            feats, labels = extract(
                model, (_normalised(ctx, src, tx), ty), (None,), 512, progress=False
            )
            out[split] = {
                "head_input": feats[None],
                "labels": labels,
                "indices": np.arange(len(labels)),
            }
        np.savez(
            run_dir / "features.npz",
            **{f"{sp}_{kk}": v for sp, d in out.items() for kk, v in d.items()},
        )
        (run_dir / "source.json").write_text(
            json.dumps({"source": src, "source_test_acc": src_acc})
        )
        return {"test_acc": None, "source_test_acc": src_acc, "source_images": len(y), **info}

    return work


def source_features(ctx, split: str) -> dict:
    key = f"source:{split}"
    if key not in ctx.extra:
        with np.load(ctx.out / "source" / "features.npz") as z:
            ctx.extra[key] = {kk: z[f"{split}_{kk}"] for kk in ("head_input", "labels", "indices")}
    return ctx.extra[key]


def source_probe_job(ctx, n, seed: int):
    def work(run_dir: Path) -> dict:
        from cnnlab.transfer import linear_probe

        tr, te = source_features(ctx, "train"), source_features(ctx, "test")
        rows = subset(ctx, n, seed)
        r = linear_probe(
            tr["head_input"][rows],
            tr["labels"][rows],
            te["head_input"],
            te["labels"],
            C=ctx.knobs["probe_C"],
            normalize=ctx.knobs["probe_norm"],
            steps=ctx.knobs["probe_steps"],
            num_classes=ctx.num_classes,
            seed=seed,
        )
        return {"test_acc": r["acc"], "train_acc": r["train_acc"], "train_images": len(rows)}

    return work
