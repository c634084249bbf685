import numpy as np
import pytest

from cnnlab.data.captions import END, PAD, START, CaptionScenes, Vocabulary
from cnnlab.data.datasets.scenes import SceneDataset

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]  # fmt: skip


def test_vocabulary_words_and_round_trip():
    vocab = Vocabulary.from_classes(FASHION)
    assert vocab.words[:3] == ["<pad>", "<start>", "<end>"]
    assert vocab.words[3] == "t-shirt" and vocab.words[-1] == "ankle-boot" and len(vocab) == 13
    tokens = vocab.encode_labels([7, 8, 0], 6)
    np.testing.assert_array_equal(tokens, [START, 10, 11, 3, END, PAD])
    assert vocab.decode(tokens) == "sneaker bag t-shirt"
    assert vocab.labels_of(tokens[1:]) == [7, 8, 0]
    assert vocab.encode("sneaker bag") == [10, 11]
    assert vocab.decode([10, END, 11]) == "sneaker"  # stops at <end>


def test_vocabulary_refusals():
    with pytest.raises(ValueError, match="do not fit in 4 tokens"):
        Vocabulary.from_classes(FASHION).encode_labels([1, 2, 3], 4)
    with pytest.raises(ValueError, match="unknown words"):
        Vocabulary.from_classes(FASHION).encode("sneaker hat")
    with pytest.raises(ValueError, match="must be distinct"):
        Vocabulary(["a", "a"])
    # short names that clash fall back to the full names
    assert Vocabulary.from_classes(["a/x", "a/y"]).words[3:] == ["a/x", "a/y"]


def _scenes(n=12):
    rng = np.random.default_rng(0)
    images = (rng.random((40, 28, 28)) * 255).astype(np.uint8)
    labels = np.arange(40) % 10
    return SceneDataset((images, labels, FASHION), "toy", n=n, cache=False, progress=False)


def test_caption_scenes_tokens_follow_the_items_left_to_right():
    scenes = _scenes()
    ds = CaptionScenes(scenes)
    assert len(ds) == len(scenes) and ds.tokens.shape == (len(scenes), 6)
    for i in range(len(ds)):
        image, tokens = ds[i]
        assert image.shape == (1, 64, 64)
        assert ds.vocab.decode(tokens) == " ".join(
            ds.vocab.words[3 + k] for k in scenes.items(i)[1]
        )
    imgs, toks = ds.get_batch([3, 1])
    np.testing.assert_array_equal(toks, ds.tokens[[3, 1]])
    np.testing.assert_allclose(imgs[0], ds[3][0])
