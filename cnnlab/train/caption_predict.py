"""``cnnlab predict --task caption``: captions of image files, and for an attention model a
figure of where it looked for each word.

The attention figure shows the scene, then one panel per written word: the word's
attention map (the decoder's weights over the encoder's grid, 8x8 for a 64x64 scene)
upsampled to the image (each weight covers its grid cell) and drawn in colour over it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.data.captions import END, Vocabulary

__all__ = ["caption_images", "plot_attention", "predict_captions"]


def caption_images(model, images, vocab: Vocabulary, beam_size: int = 1, max_len: int = 5):
    """Captions of normalised ``images`` (N, C, H, W): ``(texts, tokens, alphas)`` as
    :func:`cnnlab.models.caption_decode.beam_search` returns them, texts decoded."""
    from cnnlab.models.caption_decode import beam_search

    tokens, alphas, _ = beam_search(model, images, beam_size, max_len)
    return [vocab.decode(t) for t in tokens], tokens, alphas


def plot_attention(image, words: list, alphas, path, title: str | None = None) -> Path:
    """Save the attention figure of one caption (see the module docstring).

    Args:
        image: the scene, (H, W) or (1, H, W) in [0, 1].
        words: the written words (``<end>`` included if it was written).
        alphas: one attention map per word, (len(words), L) with L a square grid.
        path: the PNG to write.
        title: a title over the figure.
    """
    from cnnlab.train.plots import _figure, _save

    img = np.asarray(image, np.float32).reshape(np.asarray(image).shape[-2:])
    h, w = img.shape
    side = int(round(np.sqrt(alphas.shape[1])))
    if side * side != alphas.shape[1] or h % side or w % side:
        raise ValueError(
            f"plot_attention: {alphas.shape[1]} weights are not a square grid over {h}x{w}"
        )
    fig = _figure(1.6 * (len(words) + 1), 1.9)
    ax = fig.add_subplot(1, len(words) + 1, 1)
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_title("scene", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    ax.axis("off")
    for k, (word, alpha) in enumerate(zip(words, alphas)):
        grid = alpha.reshape(side, side)
        up = np.kron(grid, np.ones((h // side, w // side)))
        ax = fig.add_subplot(1, len(words) + 1, k + 2)
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.imshow(up / max(float(up.max()), 1e-12), cmap="jet", alpha=0.5, vmin=0, vmax=1)
        ax.set_title(f"{word} ({grid.max():.2f})", fontsize=8)
        ax.axis("off")
    return _save(fig, path)


def predict_captions(
    checkpoint, images: list, out_dir=None, invert: bool = False, beam_size: int | None = None
) -> list:
    """Caption image files with a captioner checkpoint (the run's beam unless
    ``beam_size``); for an attention model write ``<stem>_attention.png`` into ``out_dir``
    (default: next to the image).

    Returns one ``{'image', 'caption', 'attention'}`` per image (``attention`` None without).
    """
    from cnnlab.images import load_image
    from cnnlab.train.checkpoint import model_from_checkpoint

    model, ckpt = model_from_checkpoint(checkpoint)
    cfg = ckpt.config
    if cfg.get("task") != "caption":
        raise ValueError(
            f"predict --task caption: {checkpoint} is a {cfg.get('task', 'classify')!r} "
            "checkpoint, not a captioner"
        )
    vocab = Vocabulary(cfg["words"][3:])
    c, size = int(cfg["in_channels"]), tuple(cfg["input_size"])
    batch = np.stack([load_image(p, size, channels=c) for p in images])
    batch = 1.0 - batch if invert else batch
    mean = np.asarray(cfg["mean"], np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(cfg["std"], np.float32).reshape(1, -1, 1, 1)
    beam = int(beam_size or cfg.get("beam_size") or 1)
    texts, tokens, alphas = caption_images(
        model.eval(), (batch - mean) / std, vocab, beam, int(cfg.get("max_len", 5))
    )
    out = []
    for i, path in enumerate(images):
        png = None
        if alphas is not None:
            n = len(vocab.words_of(tokens[i]))
            n += int(n < tokens.shape[1] and tokens[i, n] == END)  # the <end> map too
            words = [vocab.words[t] for t in tokens[i, :n]]
            folder = Path(out_dir) if out_dir is not None else Path(path).parent
            png = folder / f"{Path(path).stem}_attention.png"
            plot_attention(batch[i], words, alphas[i, :n], png, title=texts[i] or "(empty)")
            png = str(png)
        out.append({"image": str(path), "caption": texts[i], "attention": png})
    return out
