"""The captioning guide's figures from a trained run: test scenes with their predicted
captions (``captions.png``: green when the whole caption is right, red with the truth
below when not) and, for an attention model, the attention map of each word of one scene
with four items (``attention.png``).

    python docs/captioning/caption_figure.py RUN docs/captioning
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from cnnlab.data import transforms as T
from cnnlab.train.caption import _datasets
from cnnlab.train.caption_predict import caption_images, plot_attention
from cnnlab.train.checkpoint import model_from_checkpoint
from cnnlab.train.plots import _figure, _save


def main(run: str, out: str, count: int = 12) -> None:
    model, ckpt = model_from_checkpoint(run)
    cfg = ckpt.config
    _, test = _datasets(cfg["data"])
    test.transform = T.Compose([T.Normalize(cfg["mean"], cfg["std"])])
    vocab = test.vocab
    beam = int(cfg.get("beam_size") or 3)
    x, tokens = test.get_batch(np.arange(count))
    texts, out_tokens, alphas = caption_images(model.eval(), x, vocab, beam, cfg["max_len"])
    fig = _figure(2.0 * 6, 2.3 * ((count + 5) // 6))
    for i in range(count):
        ax = fig.add_subplot((count + 5) // 6, 6, i + 1)
        ax.imshow(test.scenes.data[i], cmap="gray", vmin=0, vmax=255)
        truth = vocab.decode(tokens[i])
        right = texts[i] == truth
        label = texts[i] if right else f"{texts[i]}\n(truth: {truth})"
        ax.set_title(label, fontsize=7, color="green" if right else "red")
        ax.axis("off")
    out = Path(out)
    print(_save(fig, out / "captions.png"))
    if alphas is None:
        return
    i = next(i for i in range(len(test)) if len(test.scenes.items(i)[1]) == 4)
    xi, _ = test.get_batch([i])
    (text,), tok, al = caption_images(model, xi, vocab, beam, cfg["max_len"])
    n = len(vocab.words_of(tok[0]))
    n += int(n < tok.shape[1])  # the <end> map too
    words = [vocab.words[t] for t in tok[0, :n]]
    truth = " ".join(vocab.words[3 + k] for k in test.scenes.items(i)[1])
    png = plot_attention(test.scenes.data[i] / 255.0, words, al[0, :n], out / "attention.png",
                         title=f"written: {text}   (truth: {truth})")  # fmt: skip
    print(png, text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
