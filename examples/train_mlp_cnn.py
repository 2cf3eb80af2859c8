"""Train a small MLP and a small CNN with `tracegrad.nn` and `tracegrad.optim`, on data the
script generates, with the loss and gradients of each step compiled.

    python examples/train_mlp_cnn.py

The MLP classifies points by the quadrant they fall in; the CNN tells images with a
horizontal bar from images with a vertical one.
"""
import tracegrad as tg
import tracegrad.nn as nn
import tracegrad.nn.functional as F


def quadrants(n: int):
    x = tg.randn(n, 2)
    y = (x[:, 0] > 0).long() * 2 + (x[:, 1] > 0).long()
    return x, y


def bars(n: int, size: int = 8):
    """n images (1 channel): a bright horizontal (class 0) or vertical (class 1) bar, noise."""
    images = tg.randn(n, 1, size, size)
    labels = tg.randint(0, 2, (n,))
    where = tg.randint(1, size - 1, (n,))
    for i in range(n):
        if labels[i].item() == 0:
            images[i, 0, where[i].item(), :] += 1.0
        else:
            images[i, 0, :, where[i].item()] += 1.0
    return images, labels


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3, padding=1)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.relu(self.conv2(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


@tg.compile
def step_loss(model, x, y):
    return F.cross_entropy(model(x), y)


def train(name: str, model, x, y, steps: int, lr: float) -> list:
    opt = tg.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        opt.zero_grad()
        loss = step_loss(model, x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % max(steps // 5, 1) == 0 or step == steps - 1:
            print(f"{name} step {step:3d}  loss {loss.item():.4f}")
    with tg.no_grad():
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    print(f"{name} training accuracy {accuracy:.2f}")
    return losses


def main(mlp_steps: int = 150, cnn_steps: int = 60) -> tuple:
    tg.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 4))
    mlp_losses = train("mlp", mlp, *quadrants(256), steps=mlp_steps, lr=0.03)
    cnn_losses = train("cnn", SmallCNN(), *bars(64), steps=cnn_steps, lr=0.01)
    print(f"step_loss compiled {step_loss.trace_count} time(s)")
    return mlp_losses, cnn_losses


if __name__ == "__main__":
    main()
