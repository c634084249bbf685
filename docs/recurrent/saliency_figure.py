"""docs/recurrent/lstm_rows_saliency.png: lstm_rows' saliency on held-out digits, and the
saliency summed over each row (which of the 28 steps the decision leans on)."""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from cnnlab import explain
from cnnlab.data import MNISTSubset
from cnnlab.explain.command import load_model

info = load_model(sys.argv[1])
ds = MNISTSubset(train=False)
idx = [0, 1, 2, 3, 4, 5]
fig, axes = plt.subplots(3, len(idx), figsize=(1.9 * len(idx), 5.6))
for k, i in enumerate(idx):
    img = ds.data[i].astype(np.float32)[None] / 255.0
    e = explain.saliency(info.model, img, normalize=info.normalize)
    rows = e.map.sum(axis=1)
    axes[0, k].imshow(img[0], cmap="gray")
    axes[0, k].set_title(f"label {ds.targets[i]}, pred {e.target}", fontsize=8)
    axes[1, k].imshow(e.map, cmap="hot")
    axes[2, k].barh(np.arange(28), rows / rows.max(), color="tab:red")
    axes[2, k].set_ylim(27.5, -0.5)
    axes[2, k].set_xticks([])
    for ax in axes[:2, k]:
        ax.set_xticks([]), ax.set_yticks([])
    if k:
        axes[2, k].set_yticks([])
axes[1, 0].set_ylabel("saliency", fontsize=8)
axes[2, 0].set_ylabel("per row (step)", fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=80)
print("wrote", sys.argv[2])
