"""Data-parallel training in your own loop with cnnlab.distributed.

    python docs/distributed/train_loop.py                 # one process
    mpirun -n 2 python docs/distributed/train_loop.py     # two ranks, global batch 2 x 32

(as root, Open MPI also wants --allow-run-as-root; on a machine with fewer cores than
ranks, --oversubscribe). Trains a small CNN on the bundled 8x8 digits for 3 epochs.
"""

import numpy as np

import cnnlab
from cnnlab import distributed as dist
from cnnlab import nn, optim
from cnnlab.data import DataLoader, Digits, Subset

dist.init()  # under mpirun: join the world; otherwise one process, every call a no-op
rank, world = dist.rank(), dist.world_size()

train_set, test_set = Digits(train=True), Digits(train=False)
# every rank gets its own shard, reshuffled each epoch the same way everywhere
loader = dist.DistributedDataLoader(train_set, 32, shuffle=True, seed=0)
# evaluation: a disjoint slice per rank, the counts summed afterwards
test_loader = DataLoader(Subset(test_set, dist.shard_range(len(test_set))), 256)

cnnlab.manual_seed(rank)  # whatever each rank draws, the broadcast makes them equal
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1),
    nn.BatchNorm2d(16),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 4 * 4, 10),
)
model = dist.convert_sync_batchnorm(model)  # optional: batch statistics over all ranks
dist.broadcast_parameters(model)  # rank 0's parameters and buffers on every rank
opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(3):
    model.train()
    for x, y in loader:  # the loader moves to the next epoch's shuffle by itself
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        dist.all_reduce_gradients(model)  # the mean gradient, in a few fused Allreduces
        opt.step()
    model.eval()
    counts = np.zeros(2)  # correct, seen
    with cnnlab.no_grad():
        for x, y in test_loader:
            counts += [(model(x).numpy().argmax(1) == y.numpy()).sum(), len(y)]
    dist.all_reduce(counts)
    if rank == 0:  # one rank prints (and would save checkpoints)
        print(f"epoch {epoch + 1}: test accuracy {counts[0] / counts[1]:.3f} on {world} rank(s)")
