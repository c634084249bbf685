"""What the lab shows for a model that reads a whole scene instead of naming one object: one
view per task, chosen by the model's ``task`` (``summary.json``'s and the checkpoint
config's word, :attr:`cnnlab.models.loading.LoadedModel.task`).

A view is a function ``(m, x) -> dict`` registered with :func:`view` under its task; ``POST
/api/scene`` calls the model's one. Every answer has ``task`` and ``input`` (the converted
image as a PNG data URL); the page draws it by ``task``:

- ``segment``: ``overlay`` (the mask in colour over the image) and ``mask`` (the colours
  alone) as PNGs, and ``legend``: ``[{index, class, colour '#rrggbb', fraction}]`` for the
  classes present (background left out), largest first.
- ``detect``: ``boxes``: ``[{box [x1, y1, x2, y2] in input pixels, index, class, score,
  colour}]``, best first.
- ``caption``: ``words`` (the caption), ``attention``: one PNG per written word, then one
  for ``<end>`` when it was written (where the attention looked, over the image), or none
  for a model without attention; ``beam`` and the caption's ``log_prob``.

The page builds its elements from these values as text (class names come from checkpoint
files), never as markup.
"""

from __future__ import annotations

import numpy as np

from cnnlab.serve.encode import BadInput, png_url

__all__ = ["VIEWS", "colour", "scene", "tasks", "view"]

VIEWS: dict = {}


def view(task: str):
    """Register the decorated ``(m, x) -> dict`` as the view of models whose task is ``task``."""

    def register(fn):
        VIEWS[task] = fn
        return fn

    return register


def tasks() -> tuple:
    """The tasks the lab can show: classification (the page's own panels) and each view's."""
    return ("classify", *VIEWS)


def scene(m, x: np.ndarray) -> dict:
    """The view of model ``m`` (a :class:`cnnlab.serve.api.Loaded`) on image ``x``
    (C, H, W) in [0, 1]; BadInput for a task without one (a classifier: ``/api/predict``)."""
    task = m.info.task
    fn = VIEWS.get(task)
    if fn is None:
        raise BadInput(
            f"scene: model {m.id} is a {task!r} model; scenes are shown for "
            f"{', '.join(VIEWS)} models (a classifier's answer is POST /api/predict)"
        )
    return {"task": task, "input": png_url(x), **fn(m, x)}


def colour(index: int) -> str:
    """The colour of mask value ``index`` (class ``index - 1``), as the scenes draw it."""
    from cnnlab.data.datasets.scenes import PALETTE

    r, g, b = (int(round(255 * v)) for v in PALETTE[(int(index) - 1) % len(PALETTE)])
    return f"#{r:02x}{g:02x}{b:02x}"


@view("segment")
def _segment(m, x: np.ndarray) -> dict:
    """The predicted mask over the image, the mask alone, and the legend of its classes."""
    from cnnlab.data.datasets.scenes import PALETTE, scene_picture

    probs = m.info.predict_probs(x[None])[0]
    if probs.ndim != 3:
        raise BadInput(f"scene: model {m.id} should output (classes, H, W), got {probs.shape}")
    mask = probs.argmax(axis=0)
    if mask.shape != x.shape[1:]:
        raise BadInput(f"scene: the mask {mask.shape} and the input {x.shape[1:]} differ in size")
    names = m.classes
    counts = np.bincount(mask.reshape(-1), minlength=probs.shape[0]) / mask.size
    legend = [
        {
            "index": int(k),
            "class": names[k] if k < len(names) else str(k),
            "colour": colour(k),
            "fraction": round(float(counts[k]), 4),
        }
        for k in np.argsort(-counts, kind="stable")
        if k > 0 and counts[k] > 0
    ]
    colours = np.zeros((*mask.shape, 3), np.float32)
    on = mask > 0
    colours[on] = PALETTE[(mask[on] - 1) % len(PALETTE)]
    return {
        "overlay": png_url(scene_picture(x.mean(axis=0), mask).array),
        "mask": png_url(colours),
        "legend": legend,
        "confidence": round(float(probs.max(axis=0).mean()), 4),
    }


SCORE_THRESHOLD = 0.3  # detections shown: as ``cnnlab predict --task detect``'s default
MAX_BOXES = 50


@view("detect")
def _detect(m, x: np.ndarray) -> dict:
    """The detector's boxes (score at least :data:`SCORE_THRESHOLD`), best first."""
    import cnnlab
    from cnnlab.models.detection import decode_centernet

    with cnnlab.no_grad():
        out = m.info.pixel_model()(cnnlab.tensor(x[None].astype(np.float32)))
    if out.ndim != 4:
        raise BadInput(f"scene: model {m.id} should output (classes + 4, h, w), got {out.shape}")
    stride = getattr(m.info.model, "stride", x.shape[1] // out.shape[2])
    det = decode_centernet(out, stride=stride)[0]
    order = np.argsort(-np.asarray(det["scores"]), kind="stable")
    boxes = []
    for i in order[:MAX_BOXES]:
        score, k = float(det["scores"][i]), int(det["labels"][i])
        if score < SCORE_THRESHOLD:
            break
        box = [round(float(v), 1) for v in det["boxes"][i]]
        name = m.classes[k] if k < len(m.classes) else str(k)
        boxes.append(
            {
                "box": box,
                "index": k,
                "class": name,
                "score": round(score, 4),
                "colour": colour(k + 1),
            }
        )
    return {"boxes": boxes, "threshold": SCORE_THRESHOLD}


@view("caption")
def _caption(m, x: np.ndarray) -> dict:
    """The caption by beam search (the run's beam, else greedy; the run's length, else 5
    words) and, for an attention model, each written word's map (``<end>``'s too, when it
    was written) over the scene: the weights of the encoder's grid, each covering its cell."""
    from cnnlab.data.captions import END, SPECIALS
    from cnnlab.explain.render import overlay
    from cnnlab.models.caption_decode import beam_search

    cfg = m.info.config
    beam, max_len = int(cfg.get("beam_size") or 1), int(cfg.get("max_len") or 5)
    words = list(cfg.get("words") or (*SPECIALS, *m.classes))
    xb = x[None].astype(np.float32)
    if m.info.normalize is not None:
        mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in m.info.normalize)
        xb = (xb - mean) / std
    tokens, alphas, logp = beam_search(m.info.model, xb, beam, max_len)
    row = [int(t) for t in tokens[0]]
    n = row.index(END) if END in row else len(row)  # the caption: the words before <end>
    caption = [words[t] if t < len(words) else str(t) for t in row[:n]]
    maps = []
    if alphas is not None:
        _, h, w = x.shape
        side = int(round(np.sqrt(alphas.shape[2])))
        if side * side != alphas.shape[2] or h % side or w % side:
            raise BadInput(f"scene: {alphas.shape[2]} attention weights are no grid over {h}x{w}")
        cell = np.ones((h // side, w // side), np.float32)
        for a in alphas[0, : min(n + 1, len(row))]:  # each word's map, and <end>'s
            maps.append(png_url(overlay(x, np.kron(a.reshape(side, side), cell))))
    return {"words": caption, "attention": maps, "beam": beam, "log_prob": round(float(logp[0]), 4)}
