"""The CIFAR-10 classifier tutorial's program in my own words: normalised 3x32x32 images,
the small conv net, SGD with momentum, a few hundred steps, overall and per-class accuracy,
save and reload. CIFAR-10 is not installed here, so the images are Fashion-MNIST made
CIFAR-shaped (grey copied to three channels, padded to 32x32) unless --cifar-root is given."""

import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms

parser = argparse.ArgumentParser()
parser.add_argument("--cifar-root", default=None)
parser.add_argument("--train-size", type=int, default=500)
parser.add_argument("--test-size", type=int, default=300)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

normalise = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
if args.cifar_root:
    transform = transforms.Compose([transforms.ToTensor(), normalise])
    trainset = torchvision.datasets.CIFAR10(root=args.cifar_root, train=True, transform=transform)
    testset = torchvision.datasets.CIFAR10(root=args.cifar_root, train=False, transform=transform)
    classes = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
else:
    transform = transforms.Compose(
        [
            transforms.Grayscale(num_output_channels=3),
            transforms.Pad(2),
            transforms.ToTensor(),
            normalise,
        ]
    )
    trainset = torchvision.datasets.FashionMNIST(
        root="./data", train=True, download=True, transform=transform
    )
    testset = torchvision.datasets.FashionMNIST(
        root="./data", train=False, download=True, transform=transform
    )
    classes = tuple(trainset.classes)
trainset = torch.utils.data.Subset(trainset, range(args.train_size))
testset = torch.utils.data.Subset(testset, range(args.test_size))
batch_size = 4
trainloader = torch.utils.data.DataLoader(
    trainset, batch_size=batch_size, shuffle=True, num_workers=2
)
testloader = torch.utils.data.DataLoader(
    testset, batch_size=batch_size, shuffle=False, num_workers=2
)

dataiter = iter(trainloader)
images, labels = next(dataiter)
grid = torchvision.utils.make_grid(images / 2 + 0.5)
npimg = np.transpose(grid.numpy(), (1, 2, 0))
print("grid", npimg.shape, " ".join(f"{classes[labels[j]]:5s}" for j in range(batch_size)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


torch.manual_seed(args.seed)
net = Net()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
losses = []
for epoch in range(1):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        running_loss += loss.item()
        if i % 50 == 49:
            print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 50:.3f}")
            running_loss = 0.0
print("Finished Training")

PATH = "./cifar_net.pth"
torch.save(net.state_dict(), PATH)
net = Net()
net.load_state_dict(torch.load(PATH, weights_only=True))

correct, total = 0, 0
correct_pred = {classname: 0 for classname in classes}
total_pred = {classname: 0 for classname in classes}
with torch.no_grad():
    for data in testloader:
        images, labels = data
        outputs = net(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
        for label, prediction in zip(labels, predicted):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1
print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
for classname, correct_count in correct_pred.items():
    if total_pred[classname]:
        accuracy = 100 * float(correct_count) / total_pred[classname]
        print(f"Accuracy for class: {classname:5s} is {accuracy:.1f} %")
print("RESULT", json.dumps({"losses": losses, "accuracy": correct / total}))
