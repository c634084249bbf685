"""The work behind ``cnnlab train --task caption`` and ``cnnlab eval`` of a captioner.

Training reuses the classification pieces (the recipes' optimiser and schedule, the
:class:`~cnnlab.train.trainer.Trainer`'s epochs, checkpoints, logs and resume). What
differs: the loader yields ``(scene, tokens)`` (:class:`cnnlab.data.captions.CaptionScenes`);
the step feeds the model the ground-truth previous words (teacher forcing) and scores each
next word by cross-entropy, the padding ignored; and every evaluation writes the captions
itself (greedy decoding) and counts a scene right only if its whole caption is
(exact-sequence accuracy; ``best.safetensors`` is picked by it). The final test score adds
corpus BLEU-1..4 and the same with beam search.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cnnlab import backend, nn
from cnnlab.data.captions import PAD, CaptionScenes, Vocabulary
from cnnlab.models.caption_decode import beam_search
from cnnlab.train import recipes
from cnnlab.train.caption_metrics import bleu_scores, exact_match
from cnnlab.train.scene_task import finish_summary, scene_config
from cnnlab.train.task_trainer import build_task_trainer
from cnnlab.train.trainer import Trainer

__all__ = [
    "CAPTION_DEFAULTS",
    "CaptionLoss",
    "CaptionTrainer",
    "evaluate_caption_checkpoint",
    "evaluate_captions",
    "format_caption_report",
    "train_captioning",
]

# The captioning recipe, over recipes.DEFAULTS and under the user's options: Adam and
# clipping as for the recurrent classifiers (backpropagation through the decoder's steps).
CAPTION_DEFAULTS = {
    "model": "show_attend_tell",
    "data": "fashion-scenes",
    "epochs": 3,
    "batch_size": 32,
    "optimizer": "adam",
    "lr": 2e-3,
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "warmup_epochs": 0.2,
    "grad_clip": 5.0,
    "beam_size": 3,
    # 3 x 30,000 scenes rather than 8 x 10,000 (the same ~2,800 steps): on 10,000 the test
    # loss rose from epoch 3 (0.49 -> 0.50) while the training loss fell (0.46 -> 0.38)
    "scenes": 30000,
}


class CaptionLoss(nn.Module):
    """Cross-entropy of each next word under teacher forcing, ``<pad>`` ignored.

    Shape: scores (N, T, V) for the inputs ``tokens[:, :-1]``; tokens (N, T + 1) -> scalar.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.ce = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=label_smoothing)

    def forward(self, scores, tokens):
        return self.ce(scores.reshape(-1, scores.shape[2]), tokens[:, 1:].reshape(-1))


def evaluate_captions(
    model, loader, vocab: Vocabulary, beam_size: int = 1, loss_fn=None, progress: bool = False
) -> dict:
    """Captions of every scene in ``loader`` by beam search (``beam_size=1``: greedy), scored.

    Returns a dict: ``acc`` (exact-sequence accuracy), ``bleu1`` to ``bleu4``, ``loss``
    (teacher forced; only with ``loss_fn``), ``n`` and ``captions`` (the generated texts).
    """
    import cnnlab

    refs, hyps, losses, n = [], [], [], 0
    was = model.training
    model.eval()
    try:
        bar = tqdm(loader, desc="captions", disable=not progress, leave=False, file=sys.stderr)
        for x, y in bar:
            tokens = backend.to_numpy(y.array)
            out, _, _ = beam_search(model, x, beam_size, tokens.shape[1] - 1)
            hyps += [vocab.words_of(t) for t in out]
            refs += [vocab.words_of(t[1:]) for t in tokens]
            if loss_fn is not None:
                with cnnlab.no_grad():
                    loss = loss_fn(model(x, y[:, :-1]), y)
                losses.append((float(loss.item()), len(tokens)))
            n += len(tokens)
    finally:
        model.train(was)
    result = {"acc": exact_match(refs, hyps), **bleu_scores([[r] for r in refs], hyps), "n": n}
    if losses:
        result["loss"] = sum(v * k for v, k in losses) / max(1, sum(k for _, k in losses))
    result["captions"] = [" ".join(h) for h in hyps]
    return result


class CaptionTrainer(Trainer):
    """The :class:`Trainer` with teacher forcing in the step and caption-writing evaluation
    (greedy, exact-sequence accuracy as ``val_acc``)."""

    def __init__(self, *args, vocab: Vocabulary, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.vocab = vocab

    def forward_loss(self, x, y):
        scores = self.model(x, y[:, :-1])
        return scores, self.loss_fn(scores, y)

    def batch_accuracy(self, scores, y) -> float:
        """Teacher-forced exact accuracy: every word of the caption (and its end) right."""
        want = backend.to_numpy(y.array)[:, 1:]
        right = (backend.to_numpy(scores.array).argmax(axis=2) == want) | (want == PAD)
        return float(right.all(axis=1).mean())

    def evaluate(self, loader, return_outputs: bool = False, desc: str = "eval") -> dict:
        r = evaluate_captions(self.model, loader, self.vocab, 1, self.loss_fn, self.progress)
        return {k: r[k] for k in ("loss", "acc", "n")}


def _config(settings: dict, resume):
    if resume is None:
        attention = settings.pop("attention", None)
        if attention is not None:  # --attention / --no-attention: the model, unless named
            model = "show_attend_tell" if attention else "show_tell"
            if settings.get("model", model) != model:
                raise ValueError(
                    f"--task caption: --{'' if attention else 'no-'}attention means {model}, "
                    f"but --model is {settings['model']!r}"
                )
            settings["model"] = model
    unsupported = ("augment", "distributed", "pretrained", "val_split")
    cfg, resumed_dir = scene_config("caption", CAPTION_DEFAULTS, settings, resume, unsupported)
    if resumed_dir is not None:
        return cfg, resumed_dir
    if cfg.get("scenes") is not None and int(cfg["scenes"]) < 1:
        raise ValueError(f"--task caption: --scenes must be at least 1, got {cfg['scenes']}")
    if int(cfg["beam_size"]) < 1:
        raise ValueError(f"--task caption: --beam-size must be at least 1, got {cfg['beam_size']}")
    return cfg, None


def _datasets(data: str, root=None, scenes: int | None = None):
    """``(train, test)`` :class:`CaptionScenes` of a scene data set; ``scenes`` training
    scenes (default 10,000: the data set's), generated once and cached."""
    from cnnlab import data as cdata

    cls = cdata.FashionScenes if data == "fashion-scenes" else cdata.MNISTScenes
    train = CaptionScenes(cls(root, train=True, n=scenes))
    return train, CaptionScenes(cls(root, train=False))


def build_caption_loaders(cfg: dict, root=None):
    """``(train_loader, test_loader, vocab, info)`` for a captioning config."""
    from cnnlab import data as cdata
    from cnnlab.data import transforms as T

    train_ds, test_ds = _datasets(cfg["data"], root, cfg.get("scenes"))
    vocab = train_ds.vocab
    mean, std = recipes.image_stats(cfg["data"], train_ds)
    train_ds.transform = T.Compose([T.Normalize(mean, std)])
    test_ds.transform = T.Compose([T.Normalize(mean, std)])
    if cfg.get("limit"):
        train_ds = cdata.Subset(train_ds, np.arange(min(int(cfg["limit"]), len(train_ds))))
    if cfg.get("test_limit"):
        test_ds = cdata.Subset(test_ds, np.arange(min(int(cfg["test_limit"]), len(test_ds))))
    workers = int(cfg.get("workers") or 1)
    train_loader = cdata.DataLoader(
        train_ds, cfg["batch_size"], shuffle=True, seed=cfg.get("seed", 0), num_workers=workers
    )
    test_loader = cdata.DataLoader(test_ds, 250, shuffle=False, seed=0, num_workers=workers)
    c, h, w = np.asarray(train_ds[0][0]).shape
    info = {
        "classes": list(vocab.words[3:]),
        "words": list(vocab.words),
        "num_classes": len(vocab),
        "in_channels": int(c),
        "input_size": [int(h), int(w)],
        "max_len": int(np.asarray(train_ds[0][1]).shape[0] - 1),
        "mean": list(mean),
        "std": list(std),
    }
    return train_loader, test_loader, vocab, info


def train_captioning(
    settings: dict | None = None,
    out_dir=None,
    resume=None,
    progress: bool = True,
    root=None,
    *,
    callbacks: list | None = None,
    overwrite: bool = False,
) -> dict:
    """Train a captioner on a scene data set with :data:`CAPTION_DEFAULTS` updated by
    ``settings`` (None values ignored); then score the test split greedily and by beam.

    Writes what ``cnnlab train`` writes (``metrics.csv``, ``curves.png``, ``last`` and
    ``best.safetensors``, the best by greedy exact accuracy on the test split) and
    ``summary.json`` (task ``caption``: ``test_exact_acc``, ``test_bleu1..4``, the same
    with ``_beam``). Returns that summary.
    """
    from cnnlab import models
    from cnnlab.train.run import check_run_dir, default_run_dir

    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    cfg, resumed_dir = _config(settings, resume)
    out_dir = Path(out_dir) if out_dir is not None else resumed_dir or default_run_dir()
    if models.info(cfg["model"])["task"] != "caption":
        raise ValueError(f"--task caption: model {cfg['model']!r} is not a captioner")
    check_run_dir(out_dir, resume, overwrite)
    backend.manual_seed(int(cfg["seed"]))
    train_loader, test_loader, vocab, info = build_caption_loaders(cfg, root)
    cfg.update(info)
    model = recipes.build_model(cfg, info)
    trainer = build_task_trainer(
        CaptionTrainer,
        model,
        CaptionLoss(float(cfg.get("label_smoothing") or 0.0)),
        cfg,
        train_loader,
        test_loader,
        out_dir,
        progress=progress,
        resume=resume,
        callbacks=callbacks,
        vocab=vocab,
    )
    start = time.perf_counter()
    history = trainer.fit()
    greedy = evaluate_captions(model, test_loader, vocab, 1, progress=progress)
    beam = evaluate_captions(model, test_loader, vocab, int(cfg["beam_size"]), progress=progress)
    steps = sum(len(train_loader) for _ in history) or 1
    train_s = sum(r.get("time_s", 0.0) for r in history)
    summary = {
        "task": "caption",
        "model": cfg["model"],
        "data": cfg["data"],
        "epochs": trainer.epoch,
        "steps": trainer.step,
        "train_images": len(train_loader.dataset),
        "test_images": len(test_loader.dataset),
        "test_exact_acc": greedy["acc"],
        **{f"test_{k}": greedy[k] for k in ("bleu1", "bleu2", "bleu3", "bleu4")},
        "beam_size": int(cfg["beam_size"]),
        "test_exact_acc_beam": beam["acc"],
        "test_bleu4_beam": beam["bleu4"],
        "best_test_exact_acc": trainer.best_acc if np.isfinite(trainer.best_acc) else None,
        "s_per_step": round(train_s / steps, 4),
    }
    return finish_summary(summary, history, start, out_dir)


def evaluate_caption_checkpoint(
    model, config: dict, data=None, beam_size=None, limit=None, progress=False, root=None
) -> dict:
    """``cnnlab eval`` of a captioner: exact accuracy and BLEU-1..4 on the test split of
    ``data`` (default: its own), greedy and with a beam of ``beam_size`` (default: the
    run's)."""
    from cnnlab import data as cdata
    from cnnlab.data import transforms as T

    data = data or config.get("data")
    if data not in recipes.SCENE_NAMES:
        names = ", ".join(recipes.SCENE_NAMES)
        raise ValueError(f"eval of a captioner: --data must be one of {names}, got {data!r}")
    _, test_ds = _datasets(data, root)
    vocab = Vocabulary(config["words"][3:])
    if test_ds.vocab.words != vocab.words:
        raise ValueError(f"eval of a captioner: {data} has words {test_ds.vocab.words[3:]}, "
                         f"the model was trained on {vocab.words[3:]}")  # fmt: skip
    test_ds.transform = T.Compose([T.Normalize(config["mean"], config["std"])])
    if limit:
        test_ds = cdata.Subset(test_ds, np.arange(min(int(limit), len(test_ds))))
    loader = cdata.DataLoader(test_ds, 250, shuffle=False, seed=0)
    beam_size = int(beam_size or config.get("beam_size") or 3)
    greedy = evaluate_captions(model, loader, vocab, 1, progress=progress)
    beam = evaluate_captions(model, loader, vocab, beam_size, progress=progress)
    keep = ("acc", "bleu1", "bleu2", "bleu3", "bleu4")
    return {
        "task": "caption",
        "data": data,
        "n": greedy["n"],
        **{k: greedy[k] for k in keep},
        "beam_size": beam_size,
        **{f"{k}_beam": beam[k] for k in keep},
    }


def format_caption_report(result: dict) -> str:
    """Exact accuracy and BLEU, greedy and by beam, one line each."""
    lines = [f"captions of {result['n']} test scenes of {result['data']}"]
    for name, tail in (("greedy", ""), (f"beam {result['beam_size']}", "_beam")):
        bleu = ", ".join(f"BLEU-{n} {result[f'bleu{n}{tail}']:.4f}" for n in range(1, 5))
        lines.append(f"{name:>8}: exact accuracy {result['acc' + tail]:.4f}, {bleu}")
    return "\n".join(lines)
