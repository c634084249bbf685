"""A user's own training loop with cnnlab.distributed, run by the tests under mpirun.

``python worker_loop.py OUT BATCH STEPS [bn|syncbn|plain]`` trains a small CNN on seeded
random images for STEPS steps of BATCH images per rank and saves every rank's parameters
and buffers to ``OUT/rank<r>.npz``.
"""

import sys
from pathlib import Path

import numpy as np

import cnnlab
from cnnlab import distributed as dist
from cnnlab import nn, optim
from cnnlab.data import ArrayDataset

SEED = 3  # the loader's: one permutation per epoch on every rank


def dataset() -> ArrayDataset:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (256, 8, 8)).astype(np.uint8)
    return ArrayDataset(images, rng.integers(0, 4, 256))


def build_model(norm: str, seed: int):
    cnnlab.manual_seed(seed)
    layers = [nn.Conv2d(1, 4, 3, padding=1)]
    if norm != "plain":
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 4)]
    model = nn.Sequential(*layers)
    return dist.convert_sync_batchnorm(model) if norm == "syncbn" else model


def main(out: str, batch: int, steps: int, norm: str) -> None:
    dist.init()
    # a different initialisation on each rank: the broadcast must fix it
    model = build_model(norm, seed=1 + dist.rank())
    dist.broadcast_parameters(model)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = dist.DistributedDataLoader(dataset(), batch, shuffle=True, seed=SEED)
    loss_fn = nn.CrossEntropyLoss()
    done = 0
    while done < steps:
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            dist.all_reduce_gradients(model)
            opt.step()
            done += 1
            if done == steps:
                break
    state = {k: np.asarray(v) for k, v in model.state_dict().items()}
    np.savez(Path(out) / f"rank{dist.rank()}.npz", **state)


if __name__ == "__main__":
    main(
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        sys.argv[4] if len(sys.argv) > 4 else "plain",
    )
