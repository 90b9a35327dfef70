"""The consistency-distillation loss (docs/method.md §2)."""

import torch

from seaweed_apt.apt.consistency import ConsistencyDistillationLoss, consistency_output
from tests.helpers import random_text, tiny_model


class _ConstantVelocity(torch.nn.Module):
    """v(x, t) = c for every x and t: its flow is a straight line, on which f(x_t, t) is the same
    clean sample for every t."""

    def __init__(self, velocity: float) -> None:
        super().__init__()
        self.velocity = torch.nn.Parameter(torch.tensor(velocity))
        self.null_text_tokens = torch.nn.Parameter(torch.zeros(1, 24, 384))
        self.null_text_pooled = torch.nn.Parameter(torch.zeros(1, 384))

    def null_text(self, batch):
        return (self.null_text_tokens.expand(batch, -1, -1), torch.ones(batch, 24, dtype=bool),
                self.null_text_pooled.expand(batch, -1))

    def forward(self, x, t, tokens, mask, pooled):
        return self.velocity.expand_as(x)


def test_f_is_the_identity_at_t_zero_and_one_euler_step_at_t():
    model, x = tiny_model(std=0.05), torch.randn(2, 3, 4, 16, 16)
    text = random_text(2)
    assert torch.equal(consistency_output(model, x, torch.zeros(2), text), x)
    t = torch.tensor([0.3, 1.0])
    v = model(x, t, text.tokens, text.mask, text.pooled)
    torch.testing.assert_close(consistency_output(model, x, t, text),
                               x - t.view(-1, 1, 1, 1, 1) * v)


def test_the_loss_is_zero_on_a_straight_flow_and_positive_when_the_student_departs_from_it():
    loss = ConsistencyDistillationLoss(intervals=8, cfg_scale=5.0, timestep_shift=3.0)
    x0, text = torch.rand(4, 3, 4, 16, 16) * 2 - 1, random_text(4)
    teacher = _ConstantVelocity(0.7)
    terms = loss(_ConstantVelocity(0.7), _ConstantVelocity(0.7), teacher, x0, text,
                 torch.Generator().manual_seed(0))
    assert terms["loss"].item() < 1e-10
    departed = loss(_ConstantVelocity(0.2), _ConstantVelocity(0.7), teacher, x0, text,
                    torch.Generator().manual_seed(0))
    assert departed["loss"].item() > 1e-3
    assert 0.0 < departed["t_mean"].item() <= 1.0


def test_gradients_reach_the_student_only():
    loss = ConsistencyDistillationLoss(intervals=4, cfg_scale=2.0)
    student, target, teacher = tiny_model(std=0.05), tiny_model(std=0.05), tiny_model(std=0.05)
    terms = loss(student, target, teacher, torch.rand(2, 3, 4, 16, 16) * 2 - 1, random_text(2),
                 torch.Generator().manual_seed(0))
    terms["loss"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    assert all(p.grad is None for p in (*target.parameters(), *teacher.parameters()))


def test_the_same_rng_gives_the_same_loss():
    loss = ConsistencyDistillationLoss(intervals=8, cfg_scale=5.0)
    nets = tiny_model(std=0.05), tiny_model(std=0.05), tiny_model(std=0.05)
    x0, text = torch.rand(2, 3, 4, 16, 16) * 2 - 1, random_text(2)
    first = loss(*nets, x0, text, torch.Generator().manual_seed(5))["loss"]
    assert torch.equal(first, loss(*nets, x0, text, torch.Generator().manual_seed(5))["loss"])
