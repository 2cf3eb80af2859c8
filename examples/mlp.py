"""Train a two-layer MLP on a toy regression with a compiled loss-and-gradient step.

    python examples/mlp.py
    tracegrad dump examples/mlp.py:loss --shape 64,8 --shape 64,1 --shape 8,32 --shape 32 \
        --shape 32,1 --stage adjoint
"""
import tracegrad as tg


@tg.compile
def loss(x, y, w1, b1, w2):
    hidden = (x @ w1 + b1).relu()
    return ((hidden @ w2 - y) ** 2).mean()


def main(steps: int = 200, lr: float = 0.05) -> None:
    tg.manual_seed(0)
    x = tg.randn(64, 8)
    y = (x.sum(dim=1, keepdim=True) * 0.5).tanh()
    w1 = (tg.randn(8, 32) * 0.3).requires_grad_()
    b1 = tg.zeros(32, requires_grad=True)
    w2 = (tg.randn(32, 1) * 0.3).requires_grad_()
    params = [w1, b1, w2]
    for step in range(steps):
        value = loss(x, y, *params)
        value.backward()
        with tg.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:3d}  loss {value.item():.5f}")
    print(f"compiled {loss.trace_count} time(s) for {steps} steps")


if __name__ == "__main__":
    main()
