"""tracegrad.nn Modules and tracegrad.optim, against PyTorch where it is installed."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg
import tracegrad.nn as nn


def _mlp(m):
    return m.nn.Sequential(m.nn.Linear(4, 8), m.nn.Tanh(), m.nn.Linear(8, 3))


def test_module_registration_traversal_and_repr():
    tg.manual_seed(0)
    model = _mlp(tg)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                        "2.bias"]
    assert [tuple(p.shape) for p in model.parameters()] == [(8, 4), (8,), (3, 8), (3,)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert repr(model) == ("Sequential(\n  (0): Linear(in_features=4, out_features=8, bias=True)\n"
                           "  (1): Tanh()\n  (2): Linear(in_features=8, out_features=3, bias=True)\n)")
    assert repr(nn.Parameter(tg.tensor([1.0, 2.0]))) == (
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)")
    bound = 1 / np.sqrt(4)
    w = model[0].weight.detach().numpy()
    assert np.all(np.abs(w) <= bound) and w.std() > bound / 4      # U(-1/sqrt(in), 1/sqrt(in))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_custom_module_buffers_state_dict_round_trip():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 1, bias=False)])
            self.register_buffer("scale", tg.tensor([2.0]))
            self.register_buffer("cache", tg.zeros(1), persistent=False)

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x * self.scale

    a, b = Net(), Net()
    assert list(a.state_dict()) == ["scale", "layers.0.weight", "layers.0.bias",
                                    "layers.1.weight"]
    assert repr(b.load_state_dict(a.state_dict())) == "<All keys matched successfully>"
    x = tg.randn(3, 2)
    assert a(x).tolist() == b(x).tolist()
    sd = a.state_dict()
    del sd["scale"]
    sd["extra"] = tg.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "scale"\. '
                                           r'\n\tUnexpected key\(s\) in state_dict: "extra"'):
        b.load_state_dict(sd)
    assert b.load_state_dict(sd, strict=False) == (["scale"], ["extra"])
    bad = a.state_dict()
    bad["layers.0.weight"] = tg.zeros(3, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for layers\.0\.weight: copying a "
                                           r"param with shape torch\.Size\(\[3, 2\]\)"):
        b.load_state_dict(bad)


def test_zero_grad_and_requires_grad():
    model = _mlp(tg)
    model(tg.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model(tg.randn(2, 4)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad.abs().sum().item() == 0 for p in model.parameters())
    model.requires_grad_(False)
    assert not model(tg.randn(2, 4)).requires_grad


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
]


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
def test_optimizers_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 3)).astype(np.float32)
    tg.manual_seed(0)
    ours = _mlp(tg)
    theirs = _mlp(torch)
    with torch.no_grad():
        for p, q in zip(theirs.parameters(), ours.parameters()):
            p.copy_(torch.from_numpy(q.detach().numpy()))
    opts = [getattr(tg.optim, name)(ours.parameters(), **kwargs),
            getattr(torch.optim, name)(theirs.parameters(), **kwargs)]
    for _ in range(6):
        for m, model, opt in ((tg, ours, opts[0]), (torch, theirs, opts[1])):
            opt.zero_grad()
            loss = ((model(m.tensor(x)) - m.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_optimizer_errors():
    p = nn.Parameter(tg.ones(2))
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        tg.optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        tg.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        tg.optim.Adam([])
    with pytest.raises(ValueError, match="Invalid beta parameters"):
        tg.optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        tg.optim.SGD([p * 2], lr=0.1)


def test_optimizer_step_invalidates_saved_values():
    w = nn.Parameter(tg.ones(2))
    opt = tg.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    y = (w * w).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def _train(step, model, opt, x, y, steps=5):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = step(model, x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _loss(model, x, y):
    return nn.functional.cross_entropy(model(x), y)


def test_compiled_step_taking_a_module_matches_eager():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((32, 4)).astype(np.float32))
    y = tg.tensor(rng.integers(0, 3, 32))
    results = []
    for compiled in (False, True):
        tg.manual_seed(0)
        model = _mlp(tg)
        opt = tg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        step = tg.compile(_loss) if compiled else _loss
        results.append((_train(step, model, opt, x, y),
                        [p.detach().numpy() for p in model.parameters()]))
        if compiled:
            assert step.trace_count == 1
            assert "%model.0.weight: f32[8,4]" in str(step.specializations[0].traced)
    (eager_losses, eager_params), (losses, params) = results
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    assert losses[-1] < losses[0]
    for a, b in zip(params, eager_params):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_compiled_function_closing_over_a_model_reads_its_parameters():
    tg.manual_seed(0)
    model = _mlp(tg)
    f = tg.compile(lambda x: model(x).sum())
    x = tg.randn(2, 4)
    before = f(x).item()
    model[2].bias = nn.Parameter(model[2].bias.detach() + 1.0)   # rebound, same type
    after = f(x)
    assert after.item() == pytest.approx(before + 6.0, rel=1e-5) and f.trace_count == 1
    after.backward()
    assert model[2].bias.grad.tolist() == [2.0, 2.0, 2.0]


def test_module_mode_and_structure_are_part_of_the_signature():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    f = tg.compile(lambda m, x: m(x))
    model.eval()
    x = tg.randn(2, 3)
    np.testing.assert_allclose(f(model, x).detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-6)
    f(model, x)
    assert f.trace_count == 1
    model[0].weight = nn.Parameter(tg.randn(3, 3, dtype=tg.float64))
    model[0].bias = nn.Parameter(tg.randn(3, dtype=tg.float64))
    f(model, x.double())
    assert f.explain().specializations[1]["reason"] == (
        "module 'm' changed 0.weight, 0.bias (shape, dtype or requires_grad); tensor 'x' dtype "
        "mismatch: expected float32, actual float64")
