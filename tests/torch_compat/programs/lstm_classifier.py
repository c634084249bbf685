"""Images read row by row by an LSTM, as the "RNN on MNIST" tutorials do it: each 28x28
image a sequence of 28 rows, a two-layer ``nn.LSTM(batch_first=True)`` with zero initial
states made per batch, the last time step into a Linear, Adam, gradient clipping."""

import argparse
import json

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as transforms

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--train-size", type=int, default=1200)
parser.add_argument("--test-size", type=int, default=300)
args = parser.parse_args()
torch.manual_seed(args.seed)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
sequence_length, input_size, hidden_size, num_layers, num_classes = 28, 28, 32, 2, 10

train_dataset = torchvision.datasets.FashionMNIST(
    root="./data", train=True, transform=transforms.ToTensor(), download=True
)
test_dataset = torchvision.datasets.FashionMNIST(
    root="./data", train=False, transform=transforms.ToTensor()
)
train_loader = torch.utils.data.DataLoader(
    torch.utils.data.Subset(train_dataset, range(args.train_size)), batch_size=50, shuffle=True
)
test_loader = torch.utils.data.DataLoader(
    torch.utils.data.Subset(test_dataset, range(args.test_size)), batch_size=100, shuffle=False
)


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(RNN, self).__init__()  # noqa: UP008 (the tutorials write it so)
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


model = RNN(input_size, hidden_size, num_layers, num_classes).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
losses = []
total_step = len(train_loader)
for epoch in range(2):
    for i, (images, labels) in enumerate(train_loader):
        images = images.reshape(-1, sequence_length, input_size).to(device)
        labels = labels.to(device)
        outputs = model(images)
        loss = criterion(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
        if (i + 1) % 8 == 0:
            print(f"Epoch [{epoch + 1}/2], Step [{i + 1}/{total_step}], Loss: {loss.item():.4f}")

model.eval()
with torch.no_grad():
    correct = 0
    total = 0
    for images, labels in test_loader:
        images = images.reshape(-1, sequence_length, input_size).to(device)
        outputs = model(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
print(f"Test Accuracy of the model on the {total} test images: {100 * correct / total} %")
torch.save(model.state_dict(), "model.ckpt")
print("RESULT", json.dumps({"losses": losses, "accuracy": correct / total}))
