"""What ``cnnlab explain`` does: for a model opened by :func:`cnnlab.models.open_model` and
images, run one method and write its PNGs. The CLI module only parses arguments and calls
:func:`run`.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from cnnlab import explain as ex
from cnnlab.explain.base import last_conv_name
from cnnlab.explain.render import make_grid, save_png
from cnnlab.images import load_image
from cnnlab.models.loading import LoadedModel

__all__ = ["METHODS", "run"]

METHODS = (
    "filters",
    "activations",
    "topk",
    "saliency",
    "smoothgrad",
    "guided",
    "deconvnet",
    "gradcam",
    "occlusion",
    "class-model",
    "erf",
    "receptive-field",
)
NEEDS_IMAGES = (
    "activations",
    "saliency",
    "smoothgrad",
    "guided",
    "deconvnet",
    "gradcam",
    "occlusion",
)


@contextmanager
def _bar(show: bool, desc: str):
    if not show:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(desc=desc, unit="step", leave=False)

    def update(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def _dataset(data: str | None, images: list, shape):
    if data is None:
        return np.stack([load_image(p, shape[1:], channels=shape[0]) for p in images])
    from cnnlab.train.recipes import load_datasets

    return load_datasets(data, image_size=shape[1], grayscale=shape[0] == 1)[1]


def _item_image(item) -> np.ndarray:
    img = item[0] if isinstance(item, (tuple, list)) else item
    return img.numpy() if hasattr(img, "numpy") else np.asarray(img)


def run(
    method: str,
    info: LoadedModel,
    images: list,
    out_dir,
    target=None,
    layer=None,
    progress: bool = False,
    **options,
) -> list:
    """Run ``method`` (one of :data:`METHODS`) and write its PNGs into ``out_dir``.

    ``options``: ``channel``, ``k``, ``data``, ``limit`` (topk); ``samples`` (smoothgrad,
    erf); ``patch``, ``stride`` (occlusion); ``steps`` (class-model); ``region`` (gradcam
    of a segmenter: a box ``(x1, y1, x2, y2)``; default the pixels predicted as the
    target). For a segmenter (``info.task == 'segment'``) ``gradcam`` explains the target
    class's logits summed over the region (:func:`segment_grad_cam`);
    ``receptive-field`` compares an output pixel's field with that of the same net
    undilated (:mod:`cnnlab.inspect.dilation`). Returns the paths.
    """
    if method not in METHODS:
        raise ValueError(f"explain: unknown method {method!r}; choose from {', '.join(METHODS)}")
    if method in NEEDS_IMAGES and not images:
        raise ValueError(f"explain {method}: give at least one IMAGE")
    out = Path(out_dir)
    options["out_dir"] = out
    m, norm = info.model, info.normalize
    paths: list = []
    if method == "filters":
        _, grid = ex.filters(m, layer)
        return [save_png(out / "filters.png", grid)]
    if method == "receptive-field":
        from cnnlab.explain.receptive import save_receptive_fields

        return save_receptive_fields(m, info.shape, out)
    if method == "erf":
        e = ex.effective_receptive_field(
            m, info.shape, layer, samples=options.get("samples") or 8, normalize=norm
        )
        return [save_png(out / "erf.png", ex.heatmap(e.map))]
    if method == "topk":
        if options.get("channel") is None or layer is None:
            raise ValueError("explain topk: give --layer and --channel")
        data = _dataset(options.get("data"), images, info.shape)
        with _bar(progress, "topk") as cb:
            idx, _ = ex.top_k_images(
                m,
                data,
                layer,
                options["channel"],
                options.get("k") or 9,
                norm,
                limit=options.get("limit"),
                progress=cb,
            )
        tiles = np.stack([_item_image(data[i]) for i in idx])
        tiles = tiles[:, 0] if tiles.shape[1] == 1 else tiles.transpose(0, 2, 3, 1)
        return [save_png(out / f"topk_{layer}_{options['channel']}.png", make_grid(tiles))]
    if method == "class-model":
        t = 0 if target is None else target
        unit = {"layer": layer, "channel": options.get("channel")} if layer is not None else {}
        with _bar(progress, "class-model") as cb:
            e = ex.class_model(
                m, t, info.shape, steps=options.get("steps") or 200, normalize=norm, progress=cb,
                **unit,
            )  # fmt: skip
        paths = [save_png(out / f"{_class_model_stem(t, layer, unit)}.png", e.image)]
        if options.get("generator"):  # Nguyen et al. 2016: the same, through a generator
            paths += _generator_class_model(info, t, e, layer, progress, options)
        return paths
    for path in images:
        x = load_image(path, info.shape[1:], channels=info.shape[0])
        stem = Path(path).stem
        if method == "activations":
            name = layer or last_conv_name(m, first=True)
            paths.append(save_png(out / f"{stem}_input.png", x))
            paths.append(
                save_png(
                    out / f"{stem}_activations.png",
                    ex.activation_grid(ex.activations(m, x, name, norm)),
                )
            )
            continue
        if method == "gradcam" and info.task == "segment":
            paths += _segment_grad_cam(info, x, target, layer, options.get("region"), out, stem)
            continue
        with _bar(progress and method in ("smoothgrad", "occlusion"), method) as cb:
            e = _explain(method, m, x, target, layer, norm, cb, options)
        paths += e.save(out, f"{stem}_{method}")
    return paths


def _segment_grad_cam(info, x, target, layer, region, out, stem) -> list:
    """Grad-CAM of a class over a region of a segmenter's output: the usual input, map and
    overlay PNGs, named after the class, and the region drawn on the image."""
    from cnnlab.explain.segment_cam import segment_grad_cam

    e = segment_grad_cam(info.model, x, target, region, layer, info.normalize)
    name = "".join(c if c.isalnum() else "_" for c in info.label(e.target))
    prefix = f"{stem}_gradcam_{name}"
    shown = np.repeat(np.clip(x.mean(axis=0), 0, 1)[..., None], 3, axis=2)
    shown[e.extra["region"]] = 0.5 * shown[e.extra["region"]] + 0.5 * np.array([0.0, 1.0, 0.0])
    return [*e.save(out, prefix), save_png(Path(out) / f"{prefix}_region.png", shown)]


def _generator_class_model(info, t, pixel, layer, progress, options) -> list:
    """``--generator GAN_CKPT``: the class model through the generator, saved beside the
    pixel-space one (``class_model_<t>_generator.png``, and the batch of candidates)."""
    from cnnlab.explain.render import save_panels
    from cnnlab.gan.networks import load_gan
    from cnnlab.gan.plots import grid_image
    from cnnlab.gan.prior import generator_class_model

    pair, _ = load_gan(options["generator"])
    with _bar(progress, "class-model (generator)") as cb:
        e = generator_class_model(
            info.model,
            pair.generator,
            t,
            info.shape,
            info.normalize,
            steps=options.get("steps") or 200,
            layer=layer,
            channel=options.get("channel") if layer is not None else None,
            progress=cb,
        )
    out = Path(options["out_dir"])
    # both panels maximise the same score: the class logit, or the --layer/--channel unit
    if layer is None:
        what = [f"p={pixel.extra['probability']:.2f}", f"p={e.extra['probability']:.2f}"]
    else:
        what = [f"unit {pixel.score:.3g}", f"unit {e.score:.3g}"]  # the file names the unit
    titles = [f"pixel space ({what[0]})", f"generator prior ({what[1]})"]
    stem = _class_model_stem(t, layer, {"channel": e.target})
    side = save_panels(out / f"{stem}_generator.png", [pixel.image, e.image], titles)
    grid = save_png(out / f"{stem}_generator_batch.png", grid_image(e.extra["images"]))
    return [side, grid]


def _class_model_stem(target: int, layer, unit: dict) -> str:
    """``class_model_<target>``, or ``class_model_<layer>_<channel>`` for a unit."""
    return f"class_model_{target}" if layer is None else f"class_model_{layer}_{unit['channel']}"


def _explain(method, m, x, target, layer, norm, cb, options):
    if method == "saliency":
        return ex.saliency(m, x, target, norm)
    if method == "smoothgrad":
        return ex.smooth_grad(m, x, target, norm, samples=options.get("samples") or 25, progress=cb)
    if method == "guided":
        return ex.guided_backprop(m, x, target, norm)
    if method == "deconvnet":
        return ex.deconvnet(m, x, target, norm)
    if method == "gradcam":
        return ex.grad_cam(m, x, layer, target, norm)
    patch = options.get("patch") or max(x.shape[-1] // 8, 1)
    return ex.occlusion(
        m, x, target, patch=patch, stride=options.get("stride"), normalize=norm, progress=cb
    )
