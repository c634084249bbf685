"""The work behind ``cnnlab gan sample``, ``interpolate``, ``neighbours`` and ``evaluate``:
plain values in, paths and numbers out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cnnlab.gan import plots
from cnnlab.gan.classifier import ClassifierProbe, missing_classifier_message
from cnnlab.gan.data import load_images
from cnnlab.gan.metrics import classifier_score, frechet_distance, precision_recall
from cnnlab.gan.networks import load_gan
from cnnlab.gan.sampling import interpolate, nearest_neighbours, sample

__all__ = ["class_index", "evaluate_gan", "interpolate_grid", "neighbours_grid", "sample_grid"]


def class_index(name, classes: list | None) -> int:
    """A class given by index or by (case-insensitive, unambiguous prefix of its) name."""
    classes = [str(c) for c in (classes or [])]
    text = str(name).strip()
    if text.lstrip("-").isdigit():
        i = int(text)
        if classes and not 0 <= i < len(classes):
            raise ValueError(f"class {i} is out of range [0, {len(classes)})")
        return i
    low = text.lower()
    exact = [i for i, c in enumerate(classes) if c.lower() == low]
    hits = exact or [i for i, c in enumerate(classes) if c.lower().startswith(low)]
    hits = hits or [i for i, c in enumerate(classes) if low in c.lower()]
    if len(hits) != 1:
        known = ", ".join(classes) or "none recorded"
        what = "matches several classes" if hits else "is not a class"
        raise ValueError(f"{text!r} {what}; classes: {known}")
    return hits[0]


def sample_grid(checkpoint, out, n: int = 64, class_name=None, seed: int = 0) -> dict:
    """``n`` samples (of one class for a conditional model) as a grid PNG at ``out``."""
    pair, ckpt = load_gan(checkpoint)
    g = pair.generator
    classes = None
    if class_name is not None:
        if not g.num_classes:
            raise ValueError(
                f"gan sample --class: {ckpt.path} is not conditional; train with --conditional"
            )
        classes = class_index(class_name, ckpt.config.get("classes"))
    images = sample(g, n, classes=classes, seed=seed)
    return {"path": str(plots.save_sample_grid(out, images)), "n": n, "class": classes}


def interpolate_grid(
    checkpoint, out, steps: int = 10, rows: int = 8, use_slerp: bool = False, seed: int = 0
) -> dict:
    """``rows`` latent interpolations of ``steps`` images each (one row per pair of random
    codes; a conditional model keeps one class per row) as a grid PNG."""
    pair, _ = load_gan(checkpoint)
    g = pair.generator
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, 2, g.nz))
    lines = []
    for r in range(rows):
        y = r % g.num_classes if g.num_classes else None
        lines.append(interpolate(g, z[r, 0], z[r, 1], steps, use_slerp, y))
    grid = np.concatenate(lines)
    path = plots.save_sample_grid(out, grid, ncol=steps)
    return {"path": str(path), "rows": rows, "steps": steps, "slerp": use_slerp}


def neighbours_grid(
    checkpoint, out, data=None, classifier=None, n: int = 8, k: int = 5, root=None, seed=0
) -> dict:
    """Each of ``n`` samples beside its ``k`` nearest training images in pixel space and,
    with ``classifier``, in its feature space: generated images that are copies of training
    images would sit at distance ~0. Returns the path and the distances, with the typical
    distance between a real test image and its nearest training image for scale."""
    pair, ckpt = load_gan(checkpoint)
    cfg = ckpt.config
    train = load_images(data or cfg["data"], root, cfg["image_size"], train=True)
    test = load_images(data or cfg["data"], root, cfg["image_size"], train=False, limit=n)
    fake = sample(pair.generator, n, seed=seed)
    pix_idx, pix_d = nearest_neighbours(fake, train["images01"], k)
    _, real_d = nearest_neighbours(test["images01"], train["images01"], 1)
    rows = [np.concatenate([fake[i : i + 1], train["images01"][pix_idx[i]]]) for i in range(n)]
    result = {
        "pixel_distance_nearest": pix_d[:, 0].round(4).tolist(),
        "real_test_to_train_pixel_distance": real_d[:, 0].round(4).tolist(),
    }
    if classifier is not None:
        probe = ClassifierProbe(classifier)
        feats = probe.run(train["images01"])["features"]
        f_idx, f_d = nearest_neighbours(probe.run(fake)["features"], feats, k)
        for i in range(n):
            rows[i] = np.concatenate([rows[i], train["images01"][f_idx[i]]])
        result["feature_distance_nearest"] = f_d[:, 0].round(4).tolist()
    path = plots.save_sample_grid(out, np.concatenate(rows), ncol=len(rows[0]))
    result["path"] = str(path)
    return result


def _blur(images01: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(images01, sigma=(0, 0, sigma, sigma)).astype(np.float32)


def _scores(probe, real_test: dict, images01: np.ndarray, k: int, num_classes: int) -> dict:
    r = probe.run(images01)
    precision, recall = precision_recall(real_test["features"], r["features"], k=k)
    counts = np.bincount(r["predicted"], minlength=num_classes)
    return {
        "fid": float(f"{frechet_distance(real_test['features'], r['features']):.6g}"),
        "classifier_score": round(classifier_score(r["probs"]), 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "class_counts": counts.tolist(),
        "max_class_share": round(float(counts.max() / counts.sum()), 4),
        "classes_present": int((counts > 0).sum()),
    }


def _own_class_rates(probe, g, real_test: dict, labels, n: int, seed: int) -> dict:
    """The share of each class's generated samples that the classifier puts in that class,
    beside the instrument's ceiling: the same share for the real test images of the class
    (a sample set cannot be judged more reliably than the judge reads real images)."""
    per = max(n // g.num_classes, 1)
    own, real = [], []
    labels = None if labels is None else np.asarray(labels)
    for c in range(g.num_classes):
        pred = probe.predict(sample(g, per, classes=c, seed=seed + c))
        own.append(float((pred == c).mean()))
        if labels is not None and (labels == c).any():
            real.append(float((real_test["predicted"][labels == c] == c).mean()))
    out = {
        "conditional_own_class": [round(v, 4) for v in own],
        "conditional_own_class_mean": round(float(np.mean(own)), 4),
        "samples_per_class": per,
    }
    if len(real) == g.num_classes:
        out["real_own_class"] = [round(v, 4) for v in real]
        out["real_own_class_mean"] = round(float(np.mean(real)), 4)
        out["real_per_class"] = np.bincount(labels, minlength=g.num_classes).tolist()
    return out


def evaluate_gan(
    checkpoint,
    classifier=None,
    n: int = 10000,
    out_dir=None,
    root=None,
    k: int = 3,
    seed: int = 0,
    references: bool = True,
) -> dict:
    """Fréchet distance, classifier score, precision/recall (k=3) and the predicted-class
    histogram of ``n`` samples against the real test images, in the classifier's feature
    space; with ``references`` the same numbers for real training images (the floor), uniform
    noise and blurred real images (sigma 1 and 2 pixels). A conditional model also gets the
    share of per-class samples that the classifier puts in their own class, next to the same
    share for the real test images of each class (the instrument's ceiling). Writes
    ``evaluate.json`` and ``class_histogram.png`` to ``out_dir`` (default: the run's folder).
    """
    if classifier is None:
        pair, ckpt = load_gan(checkpoint)
        raise ValueError(missing_classifier_message(ckpt.config.get("data")))
    pair, ckpt = load_gan(checkpoint)
    cfg, g = ckpt.config, pair.generator
    probe = ClassifierProbe(classifier)
    classes = list(probe.classes or cfg.get("classes") or [])
    kc = len(classes) or probe.run(np.zeros((1, *probe.shape), np.float32))["probs"].shape[1]
    test = load_images(cfg["data"], root, cfg["image_size"], train=False, limit=n)
    real_test = probe.run(test["images01"])
    fake = sample(g, n, seed=seed)
    result = {
        "checkpoint": ckpt.path,
        "classifier": str(classifier),
        "data": cfg["data"],
        "n": n,
        "test_images": len(test["images01"]),
        "k": k,
        "classes": [str(c) for c in classes],
        "generated": _scores(probe, real_test, fake, k, kc),
    }
    if references:
        train = load_images(cfg["data"], root, cfg["image_size"], train=True)
        pick = np.random.default_rng(seed).permutation(len(train["images01"]))[:n]
        real = train["images01"][pick]
        noise = np.random.default_rng(seed).random(real.shape, dtype=np.float32)
        result["references"] = {
            "real_train": _scores(probe, real_test, real, k, kc),
            "blur_sigma1": _scores(probe, real_test, _blur(real, 1.0), k, kc),
            "blur_sigma2": _scores(probe, real_test, _blur(real, 2.0), k, kc),
            "uniform_noise": _scores(probe, real_test, noise, k, kc),
        }
    if g.num_classes:
        result.update(_own_class_rates(probe, g, real_test, test["labels"], n, seed))
    out = Path(out_dir) if out_dir is not None else Path(ckpt.path).parent
    out.mkdir(parents=True, exist_ok=True)
    labels = classes or list(range(kc))
    hist = plots.plot_class_histogram(
        result["generated"]["class_counts"],
        labels,
        out / "class_histogram.png",
        f"classifier's classes of {n} generated samples",
    )
    result["class_histogram_png"] = str(hist)
    (out / "evaluate.json").write_text(json.dumps(result, indent=2) + "\n")
    result["json"] = str(out / "evaluate.json")
    return result


def _own_class_table(result: dict) -> list[str]:
    real = result.get("real_own_class")
    names = result.get("classes") or [str(i) for i in range(len(result["conditional_own_class"]))]
    lines = [
        "per-class samples classified as their own class"
        + (" (real test images of the class: the classifier's ceiling)" if real else ""),
        f"{'class':<14} {'samples':>8}" + (f" {'real':>8}" if real else ""),
    ]
    for i, v in enumerate(result["conditional_own_class"]):
        lines.append(f"{names[i][:14]:<14} {v:>8.1%}" + (f" {real[i]:>8.1%}" if real else ""))
    mean = result["conditional_own_class_mean"]
    lines.append(
        f"{'mean':<14} {mean:>8.1%}" + (f" {result['real_own_class_mean']:>8.1%}" if real else "")
    )
    return lines


def format_evaluation(result: dict) -> str:
    """A table of the generated samples' numbers next to the references."""
    rows = [("generated", result["generated"])]
    rows += list((result.get("references") or {}).items())
    head = f"{'images':<14} {'Fréchet':>9} {'score':>7} {'prec.':>6} {'recall':>6} {'max cls':>7}"
    lines = [f"{result['n']} images of {result['data']} against its test set", head]
    for name, r in rows:
        lines.append(
            f"{name:<14} {r['fid']:>9.4g} {r['classifier_score']:>7.3f} {r['precision']:>6.3f} "
            f"{r['recall']:>6.3f} {r['max_class_share']:>7.1%}"
        )
    g = result["generated"]
    lines.append(
        f"classes present in the samples: {g['classes_present']} of {len(g['class_counts'])}"
    )
    if "conditional_own_class" in result:
        lines += _own_class_table(result)
    lines.append(f"histogram {result['class_histogram_png']}; numbers {result['json']}")
    return "\n".join(lines)
