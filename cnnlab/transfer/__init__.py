"""Transfer learning: features of a data set at a layer of a pretrained network, the linear
probe and kNN on them, labelled subsets, and fine-tuning with per-part learning rates
(LP-FT: the head fitted as a probe first, ``probe_head``).

``cnnlab.features`` and ``cnnlab.linear_probe`` are these, loaded on first use.
Freezing lives in :mod:`cnnlab.nn.freeze` (``cnnlab.nn.utils.freeze``).
"""

from cnnlab.transfer.features import extract, features
from cnnlab.transfer.knn import knn_classify
from cnnlab.transfer.lpft import probe_head
from cnnlab.transfer.probe import linear_probe

__all__ = ["extract", "features", "knn_classify", "linear_probe", "probe_head"]
