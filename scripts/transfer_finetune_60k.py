"""A measured part of one epoch of fine-tuning everything (LP-FT, as the transfer
experiment's ``all`` method) on all 60,000 Fashion-MNIST training images at 96 px: the head
fitted as a linear probe on the cached features, then SGD on every layer (lr 3e-3, Nesterov
0.9, ImageNet batch-norm statistics, batch 32, cosine over one epoch of 1,875 steps), run for
``steps`` steps with the accuracy on the last 1,000 test images every ``every`` steps.
One JSON line per evaluation (a full epoch takes about 82 minutes on one thread).

    PYTHONPATH=. CNNLAB_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        python scripts/transfer_finetune_60k.py 150 50
"""

import json
import sys
import time

import numpy as np

import cnnlab
from cnnlab import models, nn, optim
from cnnlab.io.pretrained import data_dir
from cnnlab.nn.freeze import param_groups
from cnnlab.optim import lr_scheduler
from cnnlab.transfer import probe_head
from cnnlab.transfer.finetune import accuracy


def main(steps: int, every: int, batch: int = 32, lr: float = 3e-3) -> None:
    with np.load(data_dir() / "features" / "efficientnet_lite0-96px-fashion-mnist-train.npz") as z:
        feats, labels = z["head_input"].astype(np.float32), z["labels"]
    x, y = cnnlab.data.FashionMNIST(train=True).get_batch(np.arange(60000))
    xt, yt = cnnlab.data.FashionMNIST(train=False).get_batch(np.arange(9000, 10000))
    x, y, xt = np.asarray(x, np.float32), np.asarray(y), np.asarray(xt, np.float32)
    assert np.array_equal(labels, y)
    model = models.create(
        "efficientnet_lite0", pretrained=True, num_classes=10, in_channels=1,
        grey="repeat", image_size=96,
    )  # fmt: skip
    start = time.perf_counter()
    probe_head(model, feats, y, C=10.0, steps=300)
    del feats

    def log(step, loss):
        acc = accuracy(model, xt, yt, batch_size=128)
        row = {"step": step, "images": step * batch, "test_acc_last1000": acc, "loss": loss}
        print(json.dumps({**row, "wall_s": round(time.perf_counter() - start, 1)}), flush=True)

    log(0, None)
    opt = optim.SGD(param_groups(model, lr, lr, 5e-4), lr=lr, momentum=0.9, nesterov=True)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=len(x) // batch)
    loss_fn = nn.CrossEntropyLoss()
    order = np.random.default_rng(0).permutation(len(x))
    running = []
    for step in range(1, steps + 1):
        model.train()
        for m in model.modules():  # the ImageNet statistics, as the experiment's LP-FT
            if "BatchNorm" in type(m).__name__:
                m.__dict__["training"] = False
        idx = order[(step - 1) * batch : step * batch]
        loss = loss_fn(model(cnnlab.tensor(x[idx])), cnnlab.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running.append(float(loss.data))
        if step % every == 0 or step == steps:
            log(step, round(float(np.mean(running)), 4))
            running = []


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
