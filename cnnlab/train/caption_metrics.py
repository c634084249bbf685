"""Scores of generated captions: exact-sequence accuracy and corpus BLEU (Papineni et al.,
2002).

Corpus BLEU-N over hypotheses h_i with references R_i (lists of words):

    p_n = sum_i sum_{g in n-grams(h_i)} min(count_{h_i}(g), max_{r in R_i} count_r(g))
          / sum_i |n-grams(h_i)|                              (clipped n-gram precision)
    BP  = 1 if c > r else exp(1 - r / c)                      (brevity penalty)
    BLEU-N = BP * exp(sum_{n=1..N} (1/N) log p_n)

where c is the total hypothesis length and r the sum over i of the reference length
closest to |h_i| (the shorter on a tie). The counts are summed over the corpus before
dividing, so a one-word caption (no 2-grams) does not make BLEU-2 of the corpus zero. A
p_n of zero makes BLEU-N zero (no smoothing).

NLTK's ``corpus_bleu`` counts a hypothesis with no n-grams of order n as one n-gram in the
denominator (``max(1, |n-grams(h_i)|)``), so that perfect one-word captions lower BLEU-2 to
BLEU-4 of the corpus; ``nltk_short=True`` does the same (the tests check both conventions
against NLTK). The default follows Papineni et al.'s definition: on the scenes, a quarter
of whose captions have one word, it is the figure that reaches 1 for perfect captions.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

__all__ = ["corpus_bleu", "bleu_scores", "exact_match"]


def _ngrams(words: list, n: int) -> Counter:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _check(references: list, hypotheses: list) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(
            f"corpus_bleu: {len(references)} reference lists for {len(hypotheses)} hypotheses"
        )
    if any(len(refs) == 0 for refs in references):
        raise ValueError("corpus_bleu: every hypothesis needs at least one reference")


def _counts(references: list, hypotheses: list, max_n: int, nltk_short: bool = False):
    """Clipped matches and totals per order, hypothesis and closest reference lengths."""
    matches, totals = np.zeros(max_n), np.zeros(max_n)
    hyp_len = ref_len = 0
    for refs, hyp in zip(references, hypotheses):
        hyp_len += len(hyp)
        ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(list(hyp), n)
            most = Counter()
            for r in refs:
                most |= _ngrams(list(r), n)  # per n-gram, the largest count in one reference
            matches[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, int(nltk_short))
    return matches, totals, hyp_len, ref_len


def _bleu(matches, totals, hyp_len: int, ref_len: int, n: int) -> float:
    if hyp_len == 0 or np.any(matches[:n] == 0):
        return 0.0
    bp = 1.0 if hyp_len > ref_len else math.exp(1.0 - ref_len / hyp_len)
    return bp * math.exp(sum(math.log(matches[k] / totals[k]) for k in range(n)) / n)


def corpus_bleu(
    references: list, hypotheses: list, max_n: int = 4, nltk_short: bool = False
) -> float:
    """Corpus BLEU-``max_n`` with uniform weights (see the module docstring).

    Args:
        references: per hypothesis, a list of reference word lists.
        hypotheses: word lists.
        max_n: the longest n-gram order (4 for BLEU-4).
        nltk_short: count hypotheses too short for an order as one n-gram, as NLTK does.
    """
    if max_n < 1:
        raise ValueError(f"corpus_bleu: max_n must be at least 1, got {max_n}")
    _check(references, hypotheses)
    return _bleu(*_counts(references, hypotheses, max_n, nltk_short), max_n)


def bleu_scores(
    references: list, hypotheses: list, max_n: int = 4, nltk_short: bool = False
) -> dict:
    """``{'bleu1': .., ..., 'bleu<max_n>': ..}`` from one pass over the corpus.

    Args:
        references: per hypothesis, a list of reference word lists.
        hypotheses: word lists.
        max_n: the longest n-gram order.
        nltk_short: count hypotheses too short for an order as one n-gram, as NLTK does.
    """
    _check(references, hypotheses)
    counts = _counts(references, hypotheses, max_n, nltk_short)
    return {f"bleu{n}": _bleu(*counts, n) for n in range(1, max_n + 1)}


def exact_match(references: list, hypotheses: list) -> float:
    """The fraction of hypotheses equal, word for word, to their (first) reference."""
    if len(references) != len(hypotheses):
        raise ValueError(f"exact_match: {len(references)} references, {len(hypotheses)} hypotheses")
    if not hypotheses:
        return float("nan")
    return sum(list(r) == list(h) for r, h in zip(references, hypotheses)) / len(hypotheses)
