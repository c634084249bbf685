"""Writing captions with a trained captioner: greedy decoding and beam search.

Both run the model's ``encode`` once and its ``step`` once per word (see
:mod:`cnnlab.models.captioning`), without a graph, starting from ``<start>`` and stopping a
caption at ``<end>`` (or after ``max_len`` words).

Greedy decoding keeps the single most likely word at every step. Beam search keeps the
``beam_size`` most likely partial captions by their summed log-probability: each step
scores every (caption, next word) pair of the beam and keeps the best ``beam_size``; a
caption that has ended stays in the beam with its score frozen (it can only be followed
by ``<pad>``, at log-probability 0). With ``beam_size=1`` it is greedy decoding. No length
penalty: captions of these scenes are one to four words and the sum of log-probabilities
already compares them fairly enough at that length (Show and Tell used a beam of 20 on
long sentences; here a beam of 3 is plenty).
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab import backend
from cnnlab.data.captions import END, PAD, START

__all__ = ["beam_search", "greedy_decode"]


def _np(t) -> np.ndarray:
    return backend.to_numpy(t.array)


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    z = scores.astype(np.float64) - scores.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _take(x, index):
    """Rows ``index`` of a tensor or of each tensor in a tuple (batch first)."""
    if isinstance(x, tuple):
        return tuple(_take(t, index) for t in x)
    return cnnlab.tensor(x.array[index])


def _check(model, images, max_len: int):
    if max_len < 1:
        raise ValueError(f"caption decoding: max_len must be at least 1, got {max_len}")
    for name in ("encode", "init_state", "step"):
        if not callable(getattr(model, name, None)):
            raise ValueError(
                f"caption decoding: {type(model).__name__} has no {name}(): not a captioner"
            )
    if isinstance(images, cnnlab.Tensor):
        return images
    return cnnlab.tensor(np.asarray(images, np.float32))


def _word_logp(scores) -> np.ndarray:
    """Log-probabilities of the next word; ``<pad>`` and ``<start>`` are never written."""
    logp = _log_softmax(_np(scores))
    logp[:, [PAD, START]] = -np.inf
    return logp


def greedy_decode(model, images, max_len: int = 5):
    """The most likely word at each step.

    Returns ``(tokens (N, max_len) int64, alphas)``: tokens end with ``<end>`` then
    ``<pad>``; alphas is ``(N, max_len, L)`` (each written word's attention map, zeros
    after the end) for an attention model, None otherwise.
    """
    tokens, alphas, _ = beam_search(model, images, 1, max_len)
    return tokens, alphas


def beam_search(model, images, beam_size: int = 3, max_len: int = 5):
    """The most likely caption found by a beam of ``beam_size`` (see the module docstring).

    Returns ``(tokens (N, max_len) int64, alphas (N, max_len, L) or None, log_probs (N,))``
    for each image's best caption: its tokens (``<end>``, then ``<pad>``), the attention map
    of each word (attention models only) and its summed log-probability.
    """
    if int(beam_size) < 1:
        raise ValueError(f"caption decoding: beam_size must be at least 1, got {beam_size}")
    x = _check(model, images, max_len)
    k, n = int(beam_size), x.shape[0]
    was = model.training
    model.eval()
    try:
        with cnnlab.no_grad():
            memory = model.encode(x)
            rows = np.repeat(np.arange(n), k)  # k copies of each image, beam by beam
            memory = _take(memory, rows)
            state = model.init_state(memory)
            score = np.zeros((n, k))
            score[:, 1:] = -np.inf  # one live caption at the start, not k equal ones
            seqs = np.zeros((n * k, 0), np.int64)
            alphas = None
            done = np.zeros(n * k, bool)
            word = np.full(n * k, START, np.int64)
            for _ in range(max_len):
                scores, state, alpha = model.step(memory, cnnlab.tensor(word), state)
                logp = _word_logp(scores)
                logp[done] = -np.inf
                logp[done, PAD] = 0.0  # an ended caption only takes <pad>, its score frozen
                v = logp.shape[1]
                total = (score.reshape(-1, 1) + logp).reshape(n, k * v)
                best = np.argsort(-total, axis=1, kind="stable")[:, :k]
                src = (np.arange(n)[:, None] * k + best // v).reshape(-1)
                word = (best % v).reshape(-1)
                score = np.take_along_axis(total, best, axis=1)
                seqs = np.concatenate([seqs[src], word[:, None]], axis=1)
                if alpha is not None:
                    a = np.where(done[:, None], 0.0, _np(alpha))[:, None]
                    alphas = a if alphas is None else np.concatenate([alphas, a], axis=1)
                    alphas = alphas[src]
                state = _take(state, src)
                done = done[src] | (word == END)
                if done.all():
                    break
    finally:
        model.train(was)
    first = np.arange(n) * k  # beams stay sorted: beam 0 is the best
    tokens = np.full((n, max_len), PAD, np.int64)
    tokens[:, : seqs.shape[1]] = seqs[first]
    out_alphas = None
    if alphas is not None:
        out_alphas = np.zeros((n, max_len, alphas.shape[2]), np.float32)
        out_alphas[:, : alphas.shape[1]] = alphas[first]
    return tokens, out_alphas, score[:, 0]
