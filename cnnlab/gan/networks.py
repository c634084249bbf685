"""The two networks of a GAN as one module (so one checkpoint holds both), built from a
config dict and loaded back from a checkpoint."""

from __future__ import annotations

from cnnlab import nn
from cnnlab.train.checkpoint import CheckpointError, load_checkpoint, restore

__all__ = ["GANPair", "OptimizerPair", "build_gan", "gan_config", "load_gan"]


class GANPair(nn.Module):
    """``generator`` and ``discriminator`` under one state_dict (``generator.*``,
    ``discriminator.*``)."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator


class OptimizerPair:
    """Two optimisers saved and restored as one (the checkpoint's optimiser slot)."""

    def __init__(self, generator, discriminator) -> None:
        self.generator, self.discriminator = generator, discriminator

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])


def gan_config(
    channels: int,
    image_size: int,
    latent: int = 100,
    ngf: int = 64,
    ndf: int = 64,
    classes: list | None = None,
    conditional: bool = False,
    conditioning: str = "projection",
) -> dict:
    """The architecture part of a GAN run's config (what :func:`build_gan` reads).
    ``conditioning``: how a conditional discriminator reads the class: ``"projection"``
    (Miyato and Koyama 2018, the default) or ``"concat"`` (one-hot maps beside the image)."""
    from cnnlab.models.dcgan import CONDITIONING

    if conditional and not classes:
        raise ValueError("gan: --conditional needs a data set with class labels")
    if conditioning not in CONDITIONING:
        raise ValueError(
            f"gan: --conditioning must be one of {', '.join(CONDITIONING)}, got {conditioning!r}"
        )
    return {
        "kind": "dcgan",
        "latent": int(latent),
        "ngf": int(ngf),
        "ndf": int(ndf),
        "channels": int(channels),
        "image_size": int(image_size),
        "classes": [str(c) for c in classes] if classes else None,
        "conditional": bool(conditional),
        "conditioning": str(conditioning),
    }


def build_gan(cfg: dict) -> GANPair:
    """A fresh DCGAN pair (N(0, 0.02) initialisation) for a :func:`gan_config` dict."""
    from cnnlab import models

    k = len(cfg["classes"]) if cfg.get("conditional") else 0
    g = models.create(
        "dcgan_generator",
        in_channels=cfg["latent"],
        out_channels=cfg["channels"],
        ngf=cfg["ngf"],
        image_size=cfg["image_size"],
        conditional_classes=k,
    )
    d = models.create(
        "dcgan_discriminator",
        in_channels=cfg["channels"],
        ndf=cfg["ndf"],
        image_size=cfg["image_size"],
        conditional_classes=k,
        conditioning=cfg.get("conditioning", "concat"),  # runs before the option: concat
    )
    return GANPair(g, d)


def load_gan(path):
    """``(GANPair in eval mode, Checkpoint)`` from a checkpoint or run directory written by
    ``cnnlab gan train``."""
    ckpt = load_checkpoint(path)
    if ckpt.config.get("kind") != "dcgan":
        raise CheckpointError(
            f"{ckpt.path}: not a GAN checkpoint (written by `cnnlab gan train`); "
            f"its config has kind={ckpt.config.get('kind')!r}"
        )
    pair = build_gan(ckpt.config)
    restore(ckpt, pair, rng=False)
    return pair.eval(), ckpt
