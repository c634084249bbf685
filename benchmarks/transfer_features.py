"""Feature extraction speed of EfficientNet-Lite0 (ImageNet weights, forward to the pooled
1280 features, no gradients) at 96 and 224 px: cnnlab against a PyTorch twin loaded with the
same weights, timed in alternation. What ``cnnlab.features`` / ``cnnlab experiment transfer``
spend their time on.

    CNNLAB_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.transfer_features
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from benchmarks.common import blas_threads, interleaved

STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]  # fmt: skip


def torch_twin(state: dict, logits: bool = False):
    """EfficientNet-Lite0 in PyTorch (TF 'same' padding, ReLU6, no SE) with ``state`` loaded,
    in eval mode: the pooled 1280 features, or with ``logits`` the head's output (no dropout;
    the head's size is the state's)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def same(cin, cout, k, s=1, g=1):
        conv = nn.Conv2d(cin, cout, k, s, groups=g, bias=False)

        def fwd(x):
            pad = [max((math.ceil(n / s) - 1) * s + k - n, 0) for n in x.shape[2:]]
            x = F.pad(x, (pad[1] // 2, pad[1] - pad[1] // 2, pad[0] // 2, pad[0] - pad[0] // 2))
            return F.conv2d(x, conv.weight, None, s, 0, 1, g)

        conv.forward = fwd
        return conv

    class Block(nn.Module):
        def __init__(self, cin, cout, k, s, e):
            super().__init__()
            mid = cin * e
            if e != 1:
                self._expand_conv, self._bn0 = same(cin, mid, 1), nn.BatchNorm2d(mid, eps=1e-3)
            self._depthwise_conv = same(mid, mid, k, s, mid)
            self._bn1 = nn.BatchNorm2d(mid, eps=1e-3)
            self._project_conv, self._bn2 = same(mid, cout, 1), nn.BatchNorm2d(cout, eps=1e-3)
            self.e, self.skip = e, s == 1 and cin == cout

        def forward(self, x):
            h = F.relu6(self._bn0(self._expand_conv(x))) if self.e != 1 else x
            h = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(h)))))
            return h + x if self.skip else h

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self._conv_stem, self._bn0 = same(3, 32, 3, 2), nn.BatchNorm2d(32, eps=1e-3)
            self._blocks = nn.ModuleList(
                Block(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e)
                for r, k, s, e, cin, cout in STAGES
                for i in range(r)
            )
            self._conv_head, self._bn1 = same(320, 1280, 1), nn.BatchNorm2d(1280, eps=1e-3)
            self._fc = nn.Linear(1280, int(np.asarray(state["_fc.weight"]).shape[0]))

        def forward(self, x):
            x = F.relu6(self._bn0(self._conv_stem((x - 0.5) / 0.5)))
            for b in self._blocks:
                x = b(x)
            x = F.relu6(self._bn1(self._conv_head(x))).mean((2, 3))
            return self._fc(x) if logits else x

    net = Net()
    net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return net.eval()


def main() -> None:
    import torch

    import cnnlab
    from cnnlab import models
    from cnnlab.io import load_torch_checkpoint, weights_path
    from cnnlab.transfer.features import extract

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    threads = blas_threads()
    torch.set_num_threads(threads)
    ours = models.create("efficientnet_lite0", pretrained=True).eval().fuse()
    theirs = torch_twin(load_torch_checkpoint(weights_path("efficientnet_lite0")))
    print(f"# EfficientNet-Lite0 features, {threads} thread(s), torch {torch.__version__}")
    for size, batch in ((96, 32), (224, 8)):
        x = np.random.default_rng(0).random((batch, 3, size, size)).astype(np.float32)
        xt = torch.from_numpy(x)
        f_ours, _ = extract(ours, (x, np.zeros(batch, np.int64)), (None,), batch, progress=False)
        with torch.no_grad():
            f_theirs = theirs(xt).numpy()
        err = float(np.abs(f_ours[None] - f_theirs).max())

        def run_ours(x=x):
            with cnnlab.no_grad():
                ours(cnnlab.tensor(x))

        def run_theirs(xt=xt):
            with torch.no_grad():
                theirs(xt)

        t = interleaved({"cnnlab": run_ours, "torch": run_theirs}, repeats=args.repeats, warmup=1)
        a, b = batch / t["cnnlab"], batch / t["torch"]
        print(f"{size} px, batch {batch}: cnnlab {a:.1f} images/s, torch {b:.1f} images/s "
              f"(cnnlab/torch {a / b:.2f}); features agree to {err:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
