"""Training: the Trainer loop, metrics, checkpoints, plots and the ready-made recipes."""

from cnnlab.train.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    restore,
    save_checkpoint,
)
from cnnlab.train.metrics import (
    RunningAverage,
    accuracy,
    confusion_matrix,
    per_class_accuracy,
    topk_accuracy,
)
from cnnlab.train.trainer import Trainer, TrainingDiverged

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "RunningAverage",
    "Trainer",
    "TrainingDiverged",
    "accuracy",
    "confusion_matrix",
    "load_checkpoint",
    "model_from_checkpoint",
    "per_class_accuracy",
    "restore",
    "save_checkpoint",
    "topk_accuracy",
]
