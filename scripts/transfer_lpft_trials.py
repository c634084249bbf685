"""The trials behind the transfer experiment's fine-tune-everything method (README, "How much
data do you need?"): LP-FT, a smaller body rate, batch norm in eval mode, on n labelled
Fashion-MNIST images per class (seed 0, drawn from the first 20,480 as the experiment's),
scored on the first 1,000 test images. Reads the experiment's cached 96 px features.

    PYTHONPATH=. CNNLAB_NUM_THREADS=1 OMP_NUM_THREADS=1 python scripts/transfer_lpft_trials.py 10 \
        lpft-eval-1e-3,lpft-train-1e-3,fresh-train-body5e-4,lpft-eval-1e-4
"""

import json
import sys
import time

import numpy as np

import cnnlab
from cnnlab import models
from cnnlab.io.pretrained import data_dir
from cnnlab.transfer import probe_head
from cnnlab.transfer.finetune import accuracy, fit
from cnnlab.transfer.subsets import per_class

VARIANTS = {
    "lpft-eval-1e-3": dict(lp=True, lr=1e-3, lr_body=1e-3, bn_eval=True),
    "lpft-eval-1e-4": dict(lp=True, lr=1e-4, lr_body=1e-4, bn_eval=True),
    "lpft-eval-3e-3": dict(lp=True, lr=3e-3, lr_body=3e-3, bn_eval=True),
    "lpft-train-1e-3": dict(lp=True, lr=1e-3, lr_body=1e-3, bn_eval=False),
    "fresh-train-body5e-4": dict(lp=False, lr=0.05, lr_body=5e-4, bn_eval=False),
    "fresh-eval-body5e-5": dict(lp=False, lr=0.05, lr_body=5e-5, bn_eval=True),
}


def main(n: int, names: list[str]) -> None:
    cache = data_dir() / "features" / "efficientnet_lite0-96px-fashion-mnist-train-first20480.npz"
    with np.load(cache) as z:
        f_all, y_all = z["head_input"], z["labels"]
    x, y = cnnlab.data.FashionMNIST(train=True).get_batch(np.arange(20480))
    xt, yt = cnnlab.data.FashionMNIST(train=False).get_batch(np.arange(1000))
    x, xt, y = np.asarray(x, np.float32), np.asarray(xt, np.float32), np.asarray(y)
    idx = per_class(y, n, 0)
    for name in names:
        v = VARIANTS[name]
        start = time.perf_counter()
        model = models.create(
            "efficientnet_lite0", pretrained=True, num_classes=10, in_channels=1,
            grey="repeat", image_size=96,
        )  # fmt: skip
        lp_acc = None
        if v["lp"]:
            probe_head(model, f_all[idx].astype(np.float32), y_all[idx], C=10.0, steps=300)
            lp_acc = accuracy(model, xt, yt, batch_size=128)
        info = fit(
            model, x[idx], y[idx], epochs=30, min_steps=50, max_steps=60, batch_size=32,
            lr=v["lr"], lr_body=v["lr_body"], bn_eval=v["bn_eval"], seed=0,
        )  # fmt: skip
        acc = accuracy(model, xt, yt, batch_size=128)
        total = round(time.perf_counter() - start, 1)
        row = {"n": n, "variant": name, **v, "lp_acc": lp_acc, "test_acc": acc, **info}
        print(json.dumps({**row, "total_s": total}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2].split(","))
