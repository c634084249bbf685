"""A Fashion-MNIST CNN in the style of the popular community tutorials: a Sequential of
conv-batchnorm-relu-pool blocks, dropout, Adam, a random train/validation split, model.train()
and model.eval(), accuracy per epoch and a best-model checkpoint."""

import argparse
import json

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Subset, random_split
from torchvision import datasets, transforms

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--train-size", type=int, default=1000)
args = parser.parse_args()

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(args.seed)
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
full = datasets.FashionMNIST("./data", train=True, download=True, transform=transform)
full = Subset(full, range(args.train_size))
train_set, val_set = random_split(
    full, [0.8, 0.2], generator=torch.Generator().manual_seed(args.seed)
)
train_loader = DataLoader(train_set, batch_size=50, shuffle=True)
val_loader = DataLoader(val_set, batch_size=100)


class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.layer2 = nn.Sequential(
            nn.Conv2d(16, 32, kernel_size=3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.fc1 = nn.Linear(32 * 6 * 6, 120)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(120, 10)

    def forward(self, x):
        out = self.layer2(self.layer1(x))
        out = out.view(out.size(0), -1)
        return self.fc2(self.drop(self.fc1(out)))


model = FashionCNN().to(device)
error = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
losses, accuracies, best = [], [], 0.0
for epoch in range(2):
    model.train()
    for images, labels in train_loader:
        images, labels = images.to(device), labels.to(device)
        outputs = model(images)
        loss = error(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in val_loader:
            predictions = torch.max(model(images.to(device)), 1)[1]
            correct += (predictions == labels.to(device)).sum().item()
            total += len(labels)
    accuracy = correct / total
    accuracies.append(accuracy)
    print(f"Epoch {epoch}: loss {loss.data:.4f}, validation accuracy {100 * accuracy:.1f}%")
    if accuracy > best:
        best = accuracy
        torch.save(model.state_dict(), "best_fashion_cnn.pt")
print("RESULT", json.dumps({"losses": losses, "accuracy": accuracies[-1]}))
