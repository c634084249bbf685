"""GANs: train a DCGAN with health checks, measure its samples (Fréchet distance, classifier
score, precision/recall in a cnnlab classifier's feature space), sample, interpolate, find
nearest training images, and use the generator as a prior for class models."""

from cnnlab.gan.health import HealthMonitor
from cnnlab.gan.metrics import classifier_score, frechet_distance, precision_recall
from cnnlab.gan.networks import GANPair, build_gan, gan_config, load_gan
from cnnlab.gan.sampling import generate, interpolate, nearest_neighbours, sample, slerp
from cnnlab.gan.trainer import GANTrainer

__all__ = [
    "GANPair",
    "GANTrainer",
    "HealthMonitor",
    "build_gan",
    "classifier_score",
    "frechet_distance",
    "gan_config",
    "generate",
    "interpolate",
    "load_gan",
    "nearest_neighbours",
    "precision_recall",
    "sample",
    "slerp",
]
