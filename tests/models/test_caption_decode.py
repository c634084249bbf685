import itertools

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.data.captions import END, PAD, START
from cnnlab.models.caption_decode import beam_search, greedy_decode


class TableCaptioner(nn.Module):
    """A fake captioner: word scores are ``table[image, previous word]``."""

    def __init__(self, table):
        super().__init__()
        self.table = table  # (N, V, V)

    def encode(self, images):
        return cnnlab.tensor(self.table[images.numpy().astype(int).reshape(-1)])

    def init_state(self, memory):
        return (cnnlab.zeros(memory.shape[0], 1),)

    def step(self, memory, token, state):
        rows = memory.numpy()[np.arange(memory.shape[0]), token.numpy()]
        return cnnlab.tensor(rows), state, None


def _log_softmax(row):
    z = row - row.max()
    return z - np.log(np.exp(z).sum())


def _best_by_enumeration(table, max_len):
    """The highest-scoring caption of one image, trying every word sequence."""
    words = [END, *range(3, table.shape[0])]
    best, best_score = None, -np.inf
    for length in range(1, max_len + 1):
        for seq in itertools.product(words, repeat=length):
            if END in seq[:-1] or (length < max_len and seq[-1] != END):
                continue
            prev, score = START, 0.0
            for w in seq:
                score += _log_softmax(table[prev])[w]
                prev = w
            if score > best_score:
                best, best_score = list(seq), score
    return best, best_score


def test_wide_beam_finds_the_best_caption_and_greedy_is_beam_one():
    rng = np.random.default_rng(0)
    table = rng.standard_normal((6, 6, 6)) * 2.0  # 6 images, 6 tokens: 3 words and <end>
    model = TableCaptioner(table)
    images = cnnlab.tensor(np.arange(6, dtype=np.float32))
    tokens, alphas, scores = beam_search(model, images, beam_size=16, max_len=3)
    assert alphas is None
    greedy, _ = greedy_decode(model, images, max_len=3)
    g_tokens, _, g_scores = beam_search(model, images, beam_size=1, max_len=3)
    np.testing.assert_array_equal(greedy, g_tokens)
    assert np.all(scores >= g_scores - 1e-12)
    for i in range(6):
        want, want_score = _best_by_enumeration(table[i], 3)
        got = [int(t) for t in tokens[i] if t != PAD]
        assert got == want and scores[i] == pytest.approx(want_score)


def test_attention_maps_per_written_word():
    cnnlab.manual_seed(0)
    model = models.create("show_attend_tell", widths=(4, 4, 8, 8), hidden_size=8, embed_size=4)
    x = cnnlab.randn(2, 1, 64, 64)
    for k in (1, 3):
        tokens, alphas, _ = beam_search(model, x, beam_size=k, max_len=4)
        assert tokens.shape == (2, 4) and alphas.shape == (2, 4, 64)
        written = np.cumsum(tokens == END, axis=1) - (tokens == END) == 0  # up to <end>
        np.testing.assert_allclose(alphas.sum(axis=2)[written], 1.0, rtol=1e-5)
        np.testing.assert_array_equal(alphas.sum(axis=2)[~written], 0.0)
        assert not np.isin(tokens, [START]).any()


def test_bad_arguments_are_named():
    model = TableCaptioner(np.zeros((1, 4, 4)))
    x = cnnlab.zeros(1)
    with pytest.raises(ValueError, match="beam_size must be at least 1, got 0"):
        beam_search(model, x, beam_size=0)
    with pytest.raises(ValueError, match="max_len must be at least 1"):
        greedy_decode(model, x, max_len=0)
    with pytest.raises(ValueError, match="has no encode"):
        greedy_decode(nn.Linear(2, 2), x)
