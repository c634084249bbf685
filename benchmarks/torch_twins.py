"""The benchmark workloads written in PyTorch with cnnlab's parameter names, so one state_dict
serves both frameworks (benchmark-only code: PyTorch is never a runtime dependency)."""

from __future__ import annotations

import torch
from torch import nn


class LeNet5(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(400, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class ShortcutA(nn.Module):
    def __init__(self, extra: int, stride: int):
        super().__init__()
        self.extra, self.stride = extra, stride

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        lo = self.extra // 2
        return nn.functional.pad(x, (0, 0, 0, 0, lo, self.extra - lo))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = ShortcutA(cout - cin, stride) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet20(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        cin = 16
        for i, width in enumerate((16, 32, 64)):
            blocks = []
            for j in range(3):
                blocks.append(BasicBlock(cin, width, 2 if (i > 0 and j == 0) else 1))
                cin = width
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))


class FashionCNN(nn.Module):
    """cnnlab's default model (``fashion_cnn``): conv3x3-BN-ReLU-pool stages, dropout, linear."""

    def __init__(self, widths=(32, 64, 128), dropout: float = 0.0, num_classes: int = 10):
        super().__init__()
        layers, c = [], 1
        for i, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            if i < len(widths) - 1:  # no pooling after the last stage
                layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        side = 28 // 2 ** (len(widths) - 1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c * side * side, num_classes)
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def vgg_style_layers(nn_module, num_classes: int = 10):
    """conv64-conv64-pool-conv128-conv128-pool-fc, as a Sequential (either framework)."""
    return nn_module.Sequential(
        nn_module.Conv2d(3, 64, 3, padding=1),
        nn_module.ReLU(),
        nn_module.Conv2d(64, 64, 3, padding=1),
        nn_module.ReLU(),
        nn_module.MaxPool2d(2),
        nn_module.Conv2d(64, 128, 3, padding=1),
        nn_module.ReLU(),
        nn_module.Conv2d(128, 128, 3, padding=1),
        nn_module.ReLU(),
        nn_module.MaxPool2d(2),
        nn_module.Flatten(),
        nn_module.Linear(128 * 8 * 8, num_classes),
    )


def load_from(model: nn.Module, state_dict: dict) -> nn.Module:
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state_dict.items()})
    return model
