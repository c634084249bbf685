import numpy as np
import pytest

from cnnlab.train.caption_metrics import bleu_scores, corpus_bleu, exact_match


def _corpus(seed, n=60, words="a b c", lo=0):
    rng = np.random.default_rng(seed)
    vocab = words.split()

    def sentence(lo, hi):
        return [str(w) for w in rng.choice(vocab, int(rng.integers(lo, hi + 1)))]

    refs = [[sentence(1, 7) for _ in range(int(rng.integers(1, 4)))] for _ in range(n)]
    hyps = [sentence(lo, 7) for _ in range(n)]
    return refs, hyps


def test_a_worked_example():
    # one hypothesis, one reference: 5 of 6 unigrams, 3 of 5 bigrams, 1 of 4 trigrams and
    # 0 of 3 4-grams match; hypothesis (6) longer than the reference (5): no brevity penalty
    ref, hyp = "the cat sat on a mat".split()[:5], "the cat sat in a mat".split()
    ref = ["the", "cat", "sat", "on", "mat"]
    assert corpus_bleu([[ref]], [hyp], 1) == pytest.approx(4 / 6)
    assert corpus_bleu([[ref]], [hyp], 2) == pytest.approx(np.sqrt(4 / 6 * 2 / 5))
    assert corpus_bleu([[ref]], [hyp], 4) == 0.0  # no 3-gram matches
    # shorter than the reference: exp(1 - 5/3)
    assert corpus_bleu([[ref]], [["the", "cat", "sat"]], 1) == pytest.approx(np.exp(1 - 5 / 3))
    # clipping: "the the the" matches "the" only as often as a reference holds it
    assert corpus_bleu([[["the", "cat"]]], [["the", "the", "the"]], 1) == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_nltk_corpus_bleu(seed):
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    refs, hyps = _corpus(seed)  # hypotheses of 0 to 7 words: NLTK's count of short ones
    ours = bleu_scores(refs, hyps, nltk_short=True)
    long_refs, long_hyps = _corpus(seed + 10, lo=4)  # every hypothesis has a 4-gram
    papineni = bleu_scores(long_refs, long_hyps)
    for n in range(1, 5):
        want = nltk_bleu.corpus_bleu(refs, hyps, weights=(1 / n,) * n)
        assert ours[f"bleu{n}"] == pytest.approx(want, rel=1e-12, abs=1e-30), n
        assert corpus_bleu(refs, hyps, n, nltk_short=True) == ours[f"bleu{n}"]
        want = nltk_bleu.corpus_bleu(long_refs, long_hyps, weights=(1 / n,) * n)
        assert papineni[f"bleu{n}"] == pytest.approx(want, rel=1e-12), n
    assert bleu_scores(refs, hyps)["bleu2"] > ours["bleu2"]  # short ones not counted


def test_perfect_and_exact():
    refs = [["a", "b"], ["c"], ["d", "e", "f", "g"]]
    assert bleu_scores([[r] for r in refs], refs) == {f"bleu{n}": 1.0 for n in range(1, 5)}
    # NLTK's convention: the one- and two-word captions lower BLEU-2..4 of perfect ones
    nltk = bleu_scores([[r] for r in refs], refs, nltk_short=True)
    assert nltk["bleu1"] == 1.0 and nltk["bleu2"] == pytest.approx(np.sqrt(4 / 5))
    assert exact_match(refs, [["a", "b"], ["c", "c"], ["d", "e", "f", "g"]]) == pytest.approx(2 / 3)
    assert np.isnan(exact_match([], []))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="corpus_bleu: 1 reference lists for 2 hypotheses"):
        corpus_bleu([[["a"]]], [["a"], ["b"]])
    with pytest.raises(ValueError, match="every hypothesis needs at least one reference"):
        corpus_bleu([[]], [["a"]])
    with pytest.raises(ValueError, match="max_n must be at least 1"):
        corpus_bleu([[["a"]]], [["a"]], 0)
    with pytest.raises(ValueError, match="exact_match: 1 references, 2 hypotheses"):
        exact_match([["a"]], [["a"], ["b"]])
