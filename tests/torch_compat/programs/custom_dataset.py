"""A custom Dataset as the data-loading tutorial builds one: images and labels kept in a
file the script writes, ``__len__``/``__getitem__`` returning a dict, a transform pipeline
with RandomRotation/RandomAffine/ColorJitter, ``random_split`` into train/validation,
a custom ``collate_fn``, ReduceLROnPlateau on the validation loss, early stopping with a
``copy.deepcopy`` of the best state_dict, and a per-class accuracy from ``torch.bincount``."""

import argparse
import copy
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, random_split
from torchvision import datasets, transforms

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--train-size", type=int, default=800)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()
torch.manual_seed(args.seed)

subset_file = f"fashion_subset_{args.train_size}.npz"
if not os.path.exists(subset_file):
    raw = datasets.FashionMNIST("data", train=True, download=True)
    np.savez(subset_file, images=raw.data[: args.train_size].numpy(),
             labels=raw.targets[: args.train_size].numpy())  # fmt: skip


class FashionFile(Dataset):
    """Items of an .npz file: {"image": PIL-able array, "label": int}."""

    def __init__(self, path, transform=None):
        arrays = np.load(path)
        self.images, self.labels = arrays["images"], arrays["labels"]
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        if torch.is_tensor(idx):
            idx = idx.tolist()
        from PIL import Image

        image = Image.fromarray(self.images[idx])
        if self.transform:
            image = self.transform(image)
        return {"image": image, "label": int(self.labels[idx])}


def collate(batch):
    return torch.stack([b["image"] for b in batch]), torch.tensor([b["label"] for b in batch])


augment = transforms.Compose([
    transforms.RandomRotation(10),
    transforms.RandomAffine(0, translate=(0.1, 0.1), scale=(0.9, 1.1)),
    transforms.ColorJitter(brightness=0.2, contrast=0.2),
    transforms.ToTensor(),
    transforms.Normalize((0.5,), (0.5,)),
])  # fmt: skip
dataset = FashionFile(subset_file, transform=augment)
n_val = len(dataset) // 5
train_set, val_set = random_split(dataset, [len(dataset) - n_val, n_val])
train_loader = DataLoader(train_set, batch_size=32, shuffle=True, collate_fn=collate)
val_loader = DataLoader(val_set, batch_size=64, collate_fn=collate)


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


model = SmallNet()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
    optimizer, mode="min", factor=0.5, patience=0
)
best_loss, best_state, bad_epochs, losses = float("inf"), None, 0, []
for epoch in range(args.epochs):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    val_loss, hits, seen = 0.0, torch.zeros(10), torch.zeros(10)
    with torch.inference_mode():
        for images, labels in val_loader:
            logits = model(images)
            val_loss += F.cross_entropy(logits, labels, reduction="sum").item()
            right = labels[logits.argmax(dim=1) == labels]
            hits += torch.bincount(right, minlength=10)
            seen += torch.bincount(labels, minlength=10)
    val_loss /= len(val_set)
    scheduler.step(val_loss)
    print(f"epoch {epoch}: val loss {val_loss:.4f}, lr {optimizer.param_groups[0]['lr']:.5f}")
    if val_loss < best_loss:
        best_loss, best_state, bad_epochs = val_loss, copy.deepcopy(model.state_dict()), 0
    else:
        bad_epochs += 1
        if bad_epochs >= 2:
            break
model.load_state_dict(best_state)
per_class = (hits / seen.clamp(min=1)).tolist()
print("RESULT", json.dumps({
    "losses": losses, "accuracy": (hits.sum() / seen.sum()).item(), "per_class": per_class,
    "best_val_loss": best_loss,
}))  # fmt: skip
