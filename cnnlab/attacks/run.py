"""What ``cnnlab attack`` does: load images, run one attack, write the report.

Every model is attacked on images in [0, 1]: the CLI opens it with
:func:`cnnlab.models.open_model` and attacks ``pixel_model()`` (a checkpoint trained by
``cnnlab train`` gets its data set's normalisation inside; zoo models such as
EfficientNet-Lite0 already hold theirs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.attacks import report
from cnnlab.attacks.deepfool import deepfool
from cnnlab.attacks.fgsm import fgsm, pgd
from cnnlab.attacks.fooling import fooling_images
from cnnlab.attacks.minimal import minimal_perturbation
from cnnlab.attacks.one_pixel import one_pixel
from cnnlab.attacks.universal import universal

__all__ = ["METHODS", "load_inputs", "run_attack"]

METHODS = ("fgsm", "pgd", "minimal", "deepfool", "universal", "one-pixel", "fooling", "report")


def load_inputs(shape, images=(), data=None, n=16, root=None, offset=0) -> tuple:
    """``(x in [0, 1], labels or None, class names or None)`` from image files or a data set's
    test split (images ``offset .. offset + n``)."""
    if images:
        from cnnlab.images import load_image

        x = np.stack([load_image(p, tuple(shape[1:]), channels=shape[0]) for p in images])
        return x, None, None
    if data is None:
        raise ValueError("attack: give IMAGE files or --data")
    from cnnlab.train.recipes import load_datasets

    _, test = load_datasets(data, root, image_size=shape[-1], grayscale=shape[0] == 1)
    idx = np.arange(offset, min(offset + n, len(test)))
    pairs = [test[int(i)] for i in idx]
    x = np.stack([np.asarray(p[0], dtype=np.float32) for p in pairs])
    if x.max() > 1.0:  # raw 0..255 pixels
        x = x / 255.0
    x = x.reshape(len(idx), *shape) if x.ndim == 3 else x
    labels = np.asarray([int(p[1]) for p in pairs], dtype=np.int64)
    return x, labels, getattr(getattr(test, "dataset", test), "classes", None) or None


def _label(i, names) -> str:
    return f"{names[i]} ({i})" if names is not None else str(int(i))


def run_attack(
    method: str,
    model,
    x,
    labels,
    out,
    *,
    class_names=None,
    shape=None,
    eps=None,
    norm=None,
    steps=10,
    alpha=None,
    target=None,
    pixels=1,
    xi=None,
    n_train=200,
    x_train=None,
    eps_values=None,
    fooling_method="gradient",
    start="noise",
    iterations=None,
    seed=0,
) -> dict:
    """Run ``method`` and write ``summary.json`` and pictures to ``out``; return the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    norm = norm or ("2" if method == "deepfool" else "inf")
    rng = np.random.default_rng(seed)
    if method not in METHODS:
        raise ValueError(f"attack: unknown method {method!r}; choose from {', '.join(METHODS)}")
    if method == "fooling":
        classes = None if target is None else [target]
        kw = {"steps": iterations} if iterations else {}
        res = fooling_images(
            model, shape, classes, method=fooling_method, start=start, rng=rng, **kw
        )
        titles = [f"{_label(c, class_names)}\n{p:.2%}" for c, p in zip(res.classes, res.confidence)]
        report.plot_images(res.images, titles, out / "fooling.png")
        summary = res.summary()
        summary["confidence"] = res.confidence.tolist()
        report.write_summary(summary, out / "summary.json")
        return summary
    if method == "report":
        eps_values = eps_values or [0.0, 0.02, 0.05, 0.1, 0.2]
        rows = report.robustness_curve(
            model, x, labels, eps_values, norm=norm, pgd_steps=steps, rng=rng
        )
        report.plot_robustness_curve(rows, out / "robustness.png")
        (out / "robustness.md").write_text(report.markdown_table(rows))
        summary = {"method": "report", "n": int(x.shape[0]), "rows": rows}
        report.write_summary(summary, out / "summary.json")
        return summary
    if eps is None:
        eps = 0.1 if norm == "inf" else 1.0
    if method == "fgsm":
        res = fgsm(model, x, labels, eps=eps, norm=norm, target=target)
    elif method == "pgd":
        res = pgd(
            model, x, labels, eps=eps, alpha=alpha, steps=steps, norm=norm, target=target, rng=rng
        )
    elif method == "minimal":
        kw = {"steps": iterations} if iterations else {}
        res = minimal_perturbation(model, x, labels, target=target, **kw)
    elif method == "deepfool":
        res = deepfool(
            model, x, labels, norm=norm, **({"max_iter": iterations} if iterations else {})
        )
    elif method == "one-pixel":
        res = one_pixel(
            model,
            x,
            labels,
            pixels=pixels,
            target=target,
            rng=rng,
            **({"maxiter": iterations} if iterations else {}),
        )
    else:  # universal: fit on x_train (default: the first half of x), report on x
        if x_train is None:
            half = max(1, x.shape[0] // 2)
            x_train, x, labels = x[:half], x[half:], None if labels is None else labels[half:]
        xi = xi if xi is not None else (0.2 if norm == "inf" else 4.0)
        res = universal(
            model,
            x_train,
            x,
            labels,
            xi=xi,
            norm=norm,
            rng=rng,
            **({"max_epochs": iterations} if iterations else {}),
        )
        v = res.params["v"]
        report.plot_images(
            0.5 + 0.5 * v / max(float(np.abs(v).max()), 1e-12),
            [f"universal v (ξ={xi}, {norm})"],
            out / "perturbation.png",
            ncols=1,
        )
    report.plot_examples(res, out / "examples.png", class_names)
    summary = res.summary()
    for k in ("fooling_rate", "train_fooling_rate", "test_accuracy", "adv_test_accuracy"):
        if k in res.params:
            summary[k] = res.params[k]
    report.write_summary(summary, out / "summary.json")
    np.savez_compressed(
        out / "adversarial.npz",
        x=res.x,
        x_adv=res.x_adv,
        labels=res.labels,
        adv_pred=res.adv_pred,
        success=res.success,
    )
    return summary
