"""The work behind the browser lab: plain functions on a loaded model, calling the lab's
packages (the model loader of ``cnnlab.explain.command``, ``cnnlab.summary`` with receptive
fields, ``cnnlab.explain``, ``cnnlab.attacks``). :mod:`cnnlab.serve.app` only maps routes here.

Images are what :func:`read_image` made of an upload with :func:`cnnlab.images.load_image`,
the pipeline ``cnnlab predict`` uses: float ``(C, H, W)`` in [0, 1]. A :class:`Lab` holds the
models on offer and one lock (:mod:`cnnlab.serve.lab`): requests run one at a time, each model
in eval mode, and the forward-only work under ``no_grad``.
"""

from __future__ import annotations

import math

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.serve import params
from cnnlab.serve.encode import BadInput, check_image_bytes, decode, png_url
from cnnlab.serve.inside import (
    _forward_all,
    arithmetic,
    features,
    filters,
    first_conv,
    label_of,
    unit,
)
from cnnlab.serve.inside import top_images as _top_images

__all__ = [
    "Loaded",
    "arithmetic",
    "attack",
    "check_classifier",
    "class_model",
    "describe",
    "explain",
    "features",
    "filters",
    "predict",
    "read_image",
    "target_class",
    "test_image",
    "top_images",
    "unit",
]

EXPLAIN_METHODS = ("saliency", "smoothgrad", "guided", "deconvnet", "gradcam", "occlusion")
ATTACK_METHODS = ("fgsm", "pgd", "minimal", "one-pixel")
SMALL_INPUT = 3 * 32 * 32  # values of an input small enough for minimal and one-pixel
MAX_PGD_STEPS = 50
MAX_CLASS_MODEL_STEPS = 500
MAX_SMOOTHGRAD_SAMPLES = 50
MAX_OCCLUSION_PATCHES = 1024


class Loaded:
    """A model ready to serve: the loader's ``info`` (model in eval mode, input shape,
    normalisation, classes, data), ``net``: the network the inside views show (the model, or
    a captioner's image encoder: its decoder also reads words), ``net``'s summary rows, and
    ``modules``: the module behind each row."""

    def __init__(self, id: str, info) -> None:
        self.id, self.info = id, info
        self.bytes = 0  # parameters and buffers, set by the Lab
        self.summary = cnnlab.summary(self.net, info.shape)
        self.rows = self.summary.rows
        self.leaves = _leaves(self.net)
        c, h, w = info.shape
        calls = _forward_all(self, np.zeros((c, h, w), np.float32))
        if len(calls) != len(self.rows):
            raise RuntimeError(f"{len(calls)} layer calls but {len(self.rows)} summary rows")
        self.modules = [mod for mod, _, _ in calls]  # the module of each summary row
        self.test_set = None

    @property
    def net(self):
        """The network the inside views run: the model, or a captioner's image encoder."""
        return self.info.model.encoder if self.info.task == "caption" else self.info.model

    @property
    def classes(self) -> list[str]:
        n = _num_classes(self)
        return [str(c) for c in (self.info.classes or range(n))][:n]


def _leaves(model) -> list:
    """The modules ``cnnlab.summary`` makes rows of, so that call ``i`` is row ``i``."""
    return [
        (n, m)
        for n, m in model.named_modules()
        if not list(m.children()) or list(m.parameters(recurse=False))
    ]


def _num_classes(m: Loaded) -> int:
    if m.info.task == "caption":  # the words it writes (after <pad>, <start>, <end>)
        return int(m.info.model.vocab_size) - 3
    if not m.rows:
        return 0
    shape = m.rows[-1].output_shape
    if m.info.task == "detect":  # CenterNet: (classes + 4, h, w), rows end with a head
        return int(getattr(m.info.model, "num_classes", len(m.info.classes or [])))
    if m.info.task != "classify" and len(shape) == 3:  # a segmenter: (classes, H, W)
        return int(shape[0])
    return int(np.prod(shape))


def check_classifier(m: Loaded, what: str) -> None:
    """BadInput unless ``m`` names classes of whole images (``what``: the refused request)."""
    if m.info.task != "classify":
        raise BadInput(
            f"{what}: model {m.id} is a {m.info.task!r} model, not a classifier; "
            "POST /api/scene shows what it sees"
        )


def describe(m: Loaded) -> dict:
    """The model's input, classes and architecture: one entry per summary row (name, type,
    output shape, parameters, receptive field size / jump / start)."""
    first = first_conv(m, required=False)
    return {
        "id": m.id,
        "task": m.info.task,
        "model": type(m.info.model).__name__,
        "input_shape": list(m.info.shape),
        "classes": m.classes,
        "data": m.info.data,
        "has_test_set": _test_set(m, required=False) is not None,
        "first_conv": first,
        "totals": m.summary.totals,
        "layers": [
            {
                "index": i,
                "name": r.name,
                "type": r.type,
                "output_shape": list(r.output_shape),
                "params": r.params,
                "conv": isinstance(m.modules[i], nn.Conv2d),
                "rf_size": _list(r.rf_size),
                "rf_jump": _list(r.rf_jump),
                "rf_start": _list(r.rf_start),
            }
            for i, r in enumerate(m.rows)
        ],
    }


def _list(v):
    return None if v is None else [float(a) for a in v]


def read_image(m: Loaded, data, invert: bool = False) -> np.ndarray:
    """An upload (bytes or data URL) as the model's input, exactly as ``cnnlab predict``
    reads image files (:func:`cnnlab.images.load_image`).

    Shape:
        output: the model's input shape (C, H, W), float32 in [0, 1]
    """
    from cnnlab.images import load_image

    raw = decode(data)
    check_image_bytes(raw)
    c, *size = m.info.shape
    try:
        x = load_image(raw, tuple(size), channels=c)
    except ValueError as e:
        raise BadInput(f"image: {e}") from None
    return 1.0 - x if invert else x


def _top(m: Loaded, probs: np.ndarray, k: int) -> list[dict]:
    names = m.classes
    order = np.argsort(-probs, kind="stable")[: max(1, min(int(k), probs.size))]
    return [{"index": int(i), "class": names[i], "p": float(probs[i])} for i in order]


def predict(m: Loaded, x: np.ndarray, topk: int = 5) -> dict:
    """Top-k classes with softmax probabilities (``cnnlab predict``'s computation) and the
    converted input as a PNG."""
    check_classifier(m, "predict")
    probs = m.info.predict_probs(x[None])[0]
    return {"top": _top(m, probs, topk), "input": png_url(x)}


def target_class(m: Loaded, target) -> int | None:
    """``target`` as a class index of the model (None or '' for none); BadInput if out of range."""
    if target is None or target == "":
        return None
    n = _num_classes(m)
    t = params.integer({"target": target}, "target")
    if not 0 <= t < n:
        raise BadInput(f"target: class must be in [0, {n}), got {t}")
    return t


def explain(
    m: Loaded, x: np.ndarray, method: str, target=None, samples: int = 16, patch=None
) -> dict:
    """One explanation of ``x`` for the predicted (or a chosen) class: the map and the
    overlay as PNGs (the explain package's functions, bounded work)."""
    from cnnlab import explain as ex
    from cnnlab.explain.render import heatmap, overlay

    if method not in EXPLAIN_METHODS:
        raise BadInput(f"method: expected one of {', '.join(EXPLAIN_METHODS)}, got {method!r}")
    t, model, norm = target_class(m, target), m.info.model, m.info.normalize
    if m.info.task == "segment":
        if method != "gradcam":
            raise BadInput(f"method: a segmenter is explained by gradcam, got {method!r}")
        from cnnlab.explain.segment_cam import segment_grad_cam

        e = segment_grad_cam(model, x, t, None, None, norm)  # over the pixels labelled t
    elif m.info.task != "classify":
        check_classifier(m, "explain")
    elif method == "saliency":
        e = ex.saliency(model, x, t, norm)
    elif method == "smoothgrad":
        n = max(1, min(int(samples), MAX_SMOOTHGRAD_SAMPLES))
        e = ex.smooth_grad(model, x, t, norm, samples=n)
    elif method == "guided":
        e = ex.guided_backprop(model, x, t, norm)
    elif method == "deconvnet":
        e = ex.deconvnet(model, x, t, norm)
    elif method == "gradcam":
        e = ex.grad_cam(model, x, None, t, norm)
    else:
        side = min(x.shape[1:])
        p = int(patch) if patch else max(side // 7, 1)
        p = max(p, math.ceil(side / math.sqrt(MAX_OCCLUSION_PATCHES / 4)))
        e = ex.occlusion(model, x, t, patch=min(p, side), normalize=norm)
    return {
        "method": method,
        "target": int(e.target),
        "class": m.classes[int(e.target)],
        "map": png_url(heatmap(e.map)),
        "overlay": png_url(overlay(x, e.map)),
        "values": np.asarray(e.map, np.float32).round(6).tolist(),
    }


def attack(
    m: Loaded, x: np.ndarray, method: str, eps: float, steps: int = 10, target=None, topk: int = 5
) -> dict:
    """FGSM or PGD (L∞ ``eps``, in [0, 1] pixel units), or for small inputs Szegedy's minimal
    perturbation or the one-pixel attack (``eps`` unused), on ``x``: the adversarial image,
    the difference amplified, and the new prediction."""
    from cnnlab.attacks import fgsm, minimal_perturbation, one_pixel, pgd

    if method not in ATTACK_METHODS:
        raise BadInput(f"method: expected one of {', '.join(ATTACK_METHODS)}, got {method!r}")
    eps = float(eps)
    if not 0.0 <= eps <= 1.0:
        raise BadInput(f"eps: must be in [0, 1], got {eps}")
    check_classifier(m, "attack")
    t = target_class(m, target)
    model = m.info.pixel_model()
    xb = x[None].astype(np.float32)
    if method in ("minimal", "one-pixel") and x.size > SMALL_INPUT:
        raise BadInput(f"{method}: only for inputs of at most {SMALL_INPUT} values, not {x.shape}")
    if method == "fgsm":
        res = fgsm(model, xb, eps=eps, target=t)
    elif method == "minimal":
        res = minimal_perturbation(model, xb, target=t, search_steps=4, steps=30)
    elif method == "one-pixel":
        rng = np.random.default_rng(0)
        res = one_pixel(model, xb, target=t, popsize=80, maxiter=30, rng=rng)
    else:
        steps = max(1, min(int(steps), MAX_PGD_STEPS))
        res = pgd(model, xb, eps=eps, steps=steps, target=t, rng=np.random.default_rng(0))
    m.info.model.eval()
    adv = res.x_adv[0]
    delta = adv - x
    scale = float(np.abs(delta).max())
    probs = m.info.predict_probs(adv[None])[0]
    return {
        "method": method,
        "eps": eps,
        "steps": steps if method == "pgd" else None,
        "target": t,
        "adversarial": png_url(adv),
        "difference": png_url(0.5 + delta / (2 * scale) if scale > 0 else np.full_like(delta, 0.5)),
        "linf": float(scale),
        "l2": float(np.sqrt((delta.astype(np.float64) ** 2).sum())),
        "changed_pixels": int((np.abs(delta) > 0).any(axis=0).sum()),
        "clean_class": int(res.clean_pred[0]),
        "top": _top(m, probs, topk),
        "success": bool(res.success[0]),
    }


def _test_set(m: Loaded, required: bool = True):
    if m.test_set is None and m.info.data:
        from cnnlab.train.recipes import load_datasets

        try:
            _, m.test_set = load_datasets(
                m.info.data, image_size=m.info.shape[-1], grayscale=m.info.shape[0] == 1
            )
            words = m.info.config.get("words")
            if m.info.task == "caption" and words and hasattr(m.test_set, "max_items"):
                from cnnlab.data.captions import CaptionScenes, Vocabulary

                # the same scenes with their captions: the page shows the true caption
                m.test_set = CaptionScenes(m.test_set, Vocabulary(words[3:]))
        except Exception as e:
            if required:
                raise BadInput(f"test set {m.info.data!r} is not available here: {e}") from None
            return None
    if m.test_set is None and required:
        raise BadInput("this model names no data set (a zoo model): upload or draw an image")
    return m.test_set


def test_image(m: Loaded, index: int) -> dict:
    """Test-set image ``index`` of the model's data set as a lossless PNG, with its label."""
    ds = _test_set(m)
    n = len(ds)
    index = int(index) % n if n else 0
    img, target = ds[index][0], ds[index][1]
    label, name = label_of(m, target)  # a scene's mask or boxes: none; a caption: its words
    a = img.numpy() if hasattr(img, "numpy") else np.asarray(img)
    raw = getattr(ds, "data", None)
    if isinstance(raw, np.ndarray) and raw.dtype == np.uint8:
        a = raw[index].astype(np.float32) / 255.0  # the stored 8-bit pixels, exactly
    elif a.max() > 1.0:
        a = a / 255.0
    return {"index": index, "n": n, "label": label, "class": name, "image": png_url(a)}


def top_images(m: Loaded, layer, channel: int, k: int = 8, limit: int = 1000) -> dict:
    """The test images (of the model's data set) that excite one channel most."""
    return _top_images(m, _test_set(m), layer, channel, k, limit)


def class_model(m: Loaded, target, steps: int = 100, progress=None) -> dict:
    """An input synthesised for class ``target`` by gradient ascent on its logit
    (``cnnlab.explain.class_model``, at most :data:`MAX_CLASS_MODEL_STEPS` steps), with the
    target's probability on it; ``progress(step, steps)`` is called as it goes."""
    from cnnlab import explain as ex

    check_classifier(m, "class-model")
    t = target_class(m, target)
    if t is None:
        raise BadInput("target: give the class to synthesise")
    steps = max(1, min(int(steps), MAX_CLASS_MODEL_STEPS))
    # from noise, not from a flat image: on a flat input ReLU networks such as LeNet-5 can
    # have exactly zero gradient, and the result stays a flat (black) square
    e = ex.class_model(
        m.info.model,
        t,
        m.info.shape,
        steps=steps,
        normalize=m.info.normalize,
        progress=progress,
        init="noise",
        baseline=0.5,
    )
    m.info.model.eval()
    img = np.asarray(e.image, np.float32)
    shown = (img - img.min()) / max(float(img.max() - img.min()), 1e-12)
    probs = m.info.predict_probs(img[None])[0]
    return {
        "target": t,
        "class": m.classes[t],
        "steps": steps,
        "image": png_url(shown),
        "probability": float(probs[t]),
        "top": _top(m, probs, 5),
    }
