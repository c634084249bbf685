"""Captions of the scene data sets as token sequences: the vocabulary and a dataset wrapper.

A scene's caption is its items' classes read left to right ("sneaker bag t-shirt"). The
:class:`Vocabulary` gives each class one word (its name lower-cased, spaces as hyphens,
the part before a slash: ``T-shirt/top`` -> ``t-shirt``, ``Ankle boot`` -> ``ankle-boot``)
after the three special tokens ``<pad>`` (0), ``<start>`` (1) and ``<end>`` (2), so class k
is token ``k + 3``. :class:`CaptionScenes` turns a scene into ``(image, tokens)`` with tokens
``<start> w1 .. wK <end>`` padded with ``<pad>`` to ``max_items + 2``; a decoder trained by
teacher forcing reads ``tokens[:, :-1]`` and predicts ``tokens[:, 1:]``, the padding ignored
by the loss.
"""

from __future__ import annotations

import numpy as np

from cnnlab.data.dataset import Dataset, _check_index, supports_batch

__all__ = ["PAD", "START", "END", "CaptionScenes", "Vocabulary"]

PAD, START, END = 0, 1, 2
SPECIALS = ("<pad>", "<start>", "<end>")


def class_word(name: str) -> str:
    """One word for a class name: lower case, the part before a slash, spaces as hyphens."""
    return str(name).split("/")[0].strip().lower().replace(" ", "-")


class Vocabulary:
    """Tokens: ``<pad>``, ``<start>``, ``<end>``, then one word per class (see the module)."""

    def __init__(self, words) -> None:
        words = [str(w) for w in words]
        if len(set(words)) != len(words) or set(words) & set(SPECIALS):
            raise ValueError(f"Vocabulary: words must be distinct and not special, got {words}")
        self.words = list(SPECIALS) + words
        self._index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_classes(cls, classes) -> Vocabulary:
        """One word per class name; the full lower-cased names where the short ones clash."""
        words = [class_word(c) for c in classes]
        if len(set(words)) != len(words):
            words = [str(c).lower().replace(" ", "-") for c in classes]
        return cls(words)

    def __len__(self) -> int:
        return len(self.words)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens: {' '.join(self.words)})"

    def encode_labels(self, labels, length: int) -> np.ndarray:
        """``<start> w.. <end> <pad>..`` for class ``labels``, ``length`` tokens in all.

        Shape: labels (K,) with K <= length - 2 -> (length,) int64."""
        labels = np.asarray(labels, np.int64).reshape(-1)
        if len(labels) > length - 2:
            raise ValueError(f"Vocabulary: {len(labels)} words do not fit in {length} tokens")
        out = np.full(length, PAD, np.int64)
        out[0], out[1 : len(labels) + 1], out[len(labels) + 1] = START, labels + 3, END
        return out

    def encode(self, text: str) -> list[int]:
        """Token ids of the words of ``text`` (no ``<start>``/``<end>`` added)."""
        unknown = [w for w in text.split() if w not in self._index]
        if unknown:
            raise ValueError(f"Vocabulary: unknown words {unknown}; known: {' '.join(self.words)}")
        return [self._index[w] for w in text.split()]

    def words_of(self, tokens) -> list[str]:
        """The words of ``tokens`` up to the first ``<end>``, without the special tokens."""
        out = []
        for t in np.asarray(tokens).reshape(-1).tolist():
            if t == END:
                break
            if t >= len(SPECIALS):
                out.append(self.words[t])
        return out

    def decode(self, tokens) -> str:
        """The caption of ``tokens`` as text (see :meth:`words_of`)."""
        return " ".join(self.words_of(tokens))

    def labels_of(self, tokens) -> list[int]:
        """Class indices of the words of ``tokens`` (see :meth:`words_of`)."""
        return [self._index[w] - len(SPECIALS) for w in self.words_of(tokens)]


class CaptionScenes(Dataset):
    """``(image, tokens)`` pairs of a :class:`~cnnlab.data.datasets.scenes.SceneDataset`.

    Args:
        scenes: the scene data set (its ``transform`` is applied to the images).
        vocab: the vocabulary (default: from the scenes' classes).

    Shape: image (1, H, W) float32; tokens (max_items + 2,) int64.
    """

    def __init__(self, scenes, vocab: Vocabulary | None = None) -> None:
        self.scenes = scenes
        self.vocab = vocab or Vocabulary.from_classes(scenes.classes)
        self.length = int(scenes.max_items) + 2
        n = len(scenes)
        self.tokens = np.stack(
            [self.vocab.encode_labels(scenes.items(i)[1], self.length) for i in range(n)]
        ) if n else np.zeros((0, self.length), np.int64)  # fmt: skip

    @property
    def classes(self) -> list:
        return list(self.scenes.classes)

    @property
    def transform(self):
        return self.scenes.transform

    @transform.setter
    def transform(self, value) -> None:
        self.scenes.transform = value

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index):
        index = _check_index(index, len(self), "CaptionScenes")
        image, _ = self.scenes[index]
        return image, self.tokens[index].copy()

    def get_batch(self, indices, rng=None):
        """``(images (N, 1, H, W) float32, tokens (N, T) int64)`` in one gather."""
        if not supports_batch(self.scenes.transform):
            return None
        indices = np.asarray(indices, dtype=np.int64)
        imgs = self.scenes.data[indices][:, None].astype(np.float32) / self.scenes.pixel_max
        if self.scenes.transform is not None:
            imgs = self.scenes.transform.batch(imgs, rng)
        return imgs, self.tokens[indices]
