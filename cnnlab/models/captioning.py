"""Captioners: a CNN encoder and an LSTM decoder that writes a scene's items left to right.

``show_tell`` follows Show and Tell (Vinyals et al., 2015): the CNN sees the whole image
once and its feature sets the decoder's initial state; the LSTM then reads the previous
word (its embedding) and scores the next. The feature is the flattened 4x4 grid of the
encoder's last map, not a global average, so where an item sits (left or right) survives.

``show_attend_tell`` follows Show, Attend and Tell (Xu et al., 2015): the encoder's 8x8
grid stays a set of 64 feature vectors (each with a learned position vector added, since
the convolutions alone say little about where a location is); at every step additive
attention (:class:`cnnlab.nn.AdditiveAttention`) weighs the locations by the decoder's
state, and the weighted context goes into the LSTM with the word and into the word scores.
Its ``step`` returns the attention map of each word it writes.

Both share one interface, which training and decoding (:mod:`cnnlab.models.caption_decode`)
use: ``forward(images, tokens)`` for teacher forcing (the ground-truth previous word at
every step) returns (N, T, V) word scores; ``encode(images)`` gives the per-image memory,
``init_state(memory)`` the decoder state, ``step(memory, token, state)`` one word's scores,
the new state and the attention map (None for ``show_tell``).
"""

from __future__ import annotations

import cnnlab
from cnnlab import nn
from cnnlab.models.he_init import he_initialised
from cnnlab.models.registry import register

__all__ = ["SceneEncoder", "ShowAttendTell", "ShowTell", "show_attend_tell", "show_tell"]


def _conv_bn_relu(c_in: int, c_out: int):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


class SceneEncoder(nn.Module):
    """Four conv-BN-ReLU stages of ``widths``, the first three each followed by 2x2 max
    pooling: a 64x64 scene becomes an 8x8 grid of ``widths[-1]`` features.

    Shape: (N, in_channels, H, W), H and W multiples of 8 -> (N, widths[-1], H/8, W/8).
    """

    def __init__(self, in_channels: int = 1, widths=(32, 64, 128, 128)) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != 4 or min(widths) < 1:
            raise ValueError(f"SceneEncoder: widths must be 4 positive sizes, got {widths}")
        layers, c = [], in_channels
        for i, w in enumerate(widths):
            layers.append(_conv_bn_relu(c, w))
            if i < 3:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        self.out_channels = widths[-1]

    def forward(self, x):
        if x.ndim != 4 or x.shape[2] % 8 or x.shape[3] % 8:
            raise ValueError(
                f"SceneEncoder: input must be (N, C, H, W) with H, W multiples of 8, got {x.shape}"
            )
        return self.features(x)


def _check_tokens(name: str, images, tokens) -> None:
    if tokens.ndim != 2 or tokens.shape[0] != images.shape[0]:
        raise ValueError(
            f"{name}: tokens must be (N, T) word indices for {images.shape[0]} images, got "
            f"shape {tuple(tokens.shape)}"
        )


class ShowTell(nn.Module):
    """CNN feature as the LSTM's initial state (see the module docstring).

    Shape: images (N, C, 64, 64), tokens (N, T) -> word scores (N, T, num_classes), where
    ``num_classes`` is the vocabulary size.
    """

    @he_initialised
    def __init__(
        self,
        num_classes: int = 13,
        in_channels: int = 1,
        widths=(32, 64, 128, 128),
        embed_size: int = 64,
        hidden_size: int = 256,
        input_size: int = 64,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if input_size % 32:
            raise ValueError(f"ShowTell: input_size must be a multiple of 32, got {input_size}")
        self.vocab_size, self.hidden_size = int(num_classes), int(hidden_size)
        self.encoder = SceneEncoder(in_channels, widths)
        self.pool = nn.MaxPool2d(2)  # 8x8 -> 4x4 grid, flattened in place order
        grid = (input_size // 16) ** 2
        self.image_fc = nn.Linear(self.encoder.out_channels * grid, 2 * hidden_size)
        self.embed = nn.Embedding(num_classes, embed_size, padding_idx=0)
        self.lstm = nn.LSTM(embed_size, hidden_size, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size, num_classes)

    def encode(self, images):
        """The image vector. Shape: (N, C, H, W) -> (N, 2 * hidden_size)."""
        return self.image_fc(self.pool(self.encoder(images)).flatten(1))

    def init_state(self, memory):
        """``(h0, c0)`` from the image vector, each (N, hidden_size)."""
        h = self.hidden_size
        return memory[:, :h].tanh(), memory[:, h:].tanh()

    def step(self, memory, token, state):
        """One word: ``(scores (N, V), new state, None)`` after reading ``token`` (N,)."""
        h, c = state
        _, (h, c) = self.lstm(self.embed(token).unsqueeze(1), (h.unsqueeze(0), c.unsqueeze(0)))
        h, c = h.squeeze(0), c.squeeze(0)  # one layer, one step: the output is h
        return self.fc(self.drop(h)), (h, c), None

    def forward(self, images, tokens):
        _check_tokens("ShowTell", images, tokens)
        h, c = self.init_state(self.encode(images))
        out, _ = self.lstm(self.embed(tokens), (h.unsqueeze(0), c.unsqueeze(0)))
        return self.fc(self.drop(out))


class ShowAttendTell(nn.Module):
    """Soft attention over the encoder's grid at every word (see the module docstring).

    Shape: images (N, C, 64, 64), tokens (N, T) -> word scores (N, T, num_classes); the
    attention maps of :meth:`step` are (N, (input_size / 8) ** 2).
    """

    @he_initialised
    def __init__(
        self,
        num_classes: int = 13,
        in_channels: int = 1,
        widths=(32, 64, 128, 128),
        embed_size: int = 64,
        hidden_size: int = 256,
        attention_size: int = 128,
        input_size: int = 64,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if input_size % 8:
            raise ValueError(
                f"ShowAttendTell: input_size must be a multiple of 8, got {input_size}"
            )
        self.vocab_size, self.hidden_size = int(num_classes), int(hidden_size)
        self.grid = (input_size // 8, input_size // 8)
        self.encoder = SceneEncoder(in_channels, widths)
        d = self.encoder.out_channels
        self.position = nn.Parameter(
            cnnlab.randn(self.grid[0] * self.grid[1], d).array * 0.1
        )  # one learned vector per grid location, added to its feature
        self.init_fc = nn.Linear(d, 2 * hidden_size)
        self.attention = nn.AdditiveAttention(d, hidden_size, attention_size)
        self.embed = nn.Embedding(num_classes, embed_size, padding_idx=0)
        self.cell = nn.LSTMCell(embed_size + d, hidden_size)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size + d, num_classes)

    def encode(self, images):
        """``(features (N, L, D), keys (N, L, attention_size))`` of the L grid locations."""
        f = self.encoder(images)
        f = f.flatten(2).transpose(1, 2) + self.position
        return f, self.attention.keys(f)

    def init_state(self, memory):
        """``(h0, c0)`` from the mean feature, each (N, hidden_size)."""
        h = self.hidden_size
        z = self.init_fc(memory[0].mean(1))
        return z[:, :h].tanh(), z[:, h:].tanh()

    def step(self, memory, token, state):
        """One word: ``(scores (N, V), new state, alpha (N, L))`` after reading ``token``."""
        features, keys = memory
        context, alpha = self.attention(features, state[0], keys)
        h, c = self.cell(cnnlab.cat([self.embed(token), context], dim=1), state)
        return self.fc(self.drop(cnnlab.cat([h, context], dim=1))), (h, c), alpha

    def forward(self, images, tokens):
        _check_tokens("ShowAttendTell", images, tokens)
        memory = self.encode(images)
        state, scores = self.init_state(memory), []
        for t in range(tokens.shape[1]):
            s, state, _ = self.step(memory, tokens[:, t], state)
            scores.append(s)
        return cnnlab.stack(scores, dim=1)


@register("show_tell", input_shape=(1, 64, 64), num_classes=13, task="caption")
def show_tell(num_classes: int = 13, in_channels: int = 1, **options) -> ShowTell:
    """Show and Tell captioner: CNN feature as the LSTM's initial state (13 words: scenes)."""
    return ShowTell(num_classes, in_channels, **options)


@register("show_attend_tell", input_shape=(1, 64, 64), num_classes=13, task="caption")
def show_attend_tell(num_classes: int = 13, in_channels: int = 1, **options) -> ShowAttendTell:
    """Show, Attend and Tell captioner: soft attention over an 8x8 grid per word."""
    return ShowAttendTell(num_classes, in_channels, **options)
