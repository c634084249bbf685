"""Fine-tuning a torchvision model as the transfer-learning tutorial does: ``models.resnet18``,
the backbone frozen (``requires_grad = False``), ``model.fc`` replaced by a new Linear for
10 classes, a ``transforms.v2`` pipeline (ToImage, ToDtype, Resize, RandomHorizontalFlip,
Normalize), SGD on the new head only, StepLR, ``copy.deepcopy`` of the best weights. No
pretrained weights here (``weights=None``): the frozen features are random, so this checks
the plumbing, not ImageNet transfer."""

import argparse
import copy
import json
import time

import torch
import torch.nn as nn
import torch.optim as optim
from torch.optim import lr_scheduler
from torchvision import datasets, models
from torchvision.transforms import v2

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--train-size", type=int, default=256)
parser.add_argument("--test-size", type=int, default=128)
args = parser.parse_args()
torch.manual_seed(args.seed)
device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")

data_transforms = {
    "train": v2.Compose([
        v2.ToImage(), v2.Grayscale(num_output_channels=3), v2.Resize(32),
        v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True),
        v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ]),
    "val": v2.Compose([
        v2.ToImage(), v2.Grayscale(num_output_channels=3), v2.Resize(32),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ]),
}  # fmt: skip
sizes = {"train": args.train_size, "val": args.test_size}
image_datasets = {
    x: torch.utils.data.Subset(
        datasets.FashionMNIST(
            "data", train=x == "train", download=True, transform=data_transforms[x]
        ),
        range(sizes[x]),
    )
    for x in ["train", "val"]
}  # fmt: skip
dataloaders = {
    x: torch.utils.data.DataLoader(image_datasets[x], batch_size=32, shuffle=x == "train")
    for x in ["train", "val"]
}

model_conv = models.resnet18(weights=None)
for param in model_conv.parameters():
    param.requires_grad = False
num_ftrs = model_conv.fc.in_features
model_conv.fc = nn.Linear(num_ftrs, 10)
model_conv = model_conv.to(device)
criterion = nn.CrossEntropyLoss()
optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)
exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=1, gamma=0.5)
trainable = sum(p.numel() for p in model_conv.parameters() if p.requires_grad)

since = time.time()
best_model_wts, best_acc, losses = copy.deepcopy(model_conv.state_dict()), 0.0, []
for epoch in range(2):
    print(f"Epoch {epoch}/1")
    for phase in ["train", "val"]:
        model_conv.train() if phase == "train" else model_conv.eval()
        running_corrects = 0
        for inputs, labels in dataloaders[phase]:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer_conv.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                outputs = model_conv(inputs)
                _, preds = torch.max(outputs, 1)
                loss = criterion(outputs, labels)
                if phase == "train":
                    loss.backward()
                    optimizer_conv.step()
                    losses.append(loss.item())
            running_corrects += torch.sum(preds == labels.data)
        if phase == "train":
            exp_lr_scheduler.step()
        epoch_acc = running_corrects.double() / sizes[phase]
        print(f"{phase} Acc: {epoch_acc:.4f}")
        if phase == "val" and epoch_acc > best_acc:
            best_acc = epoch_acc.item()
            best_model_wts = copy.deepcopy(model_conv.state_dict())
print(f"Training complete in {time.time() - since:.0f}s, best val Acc: {best_acc:4f}")
model_conv.load_state_dict(best_model_wts)
print("RESULT", json.dumps({"losses": losses, "accuracy": best_acc, "trainable": trainable}))
