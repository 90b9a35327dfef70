import pytest
import torch

from seaweed_apt.apt.apt_phase import frozen
from seaweed_apt.apt.discriminator import APTDiscriminator, head_depths_from_fractions
from seaweed_apt.apt.losses import APTLoss, approximate_r1, one_step_generate
from seaweed_apt.diffusion.flow import shift_timesteps
from seaweed_apt.models.dit import VideoDiT
from tests.helpers import random_text, tiny_model


def _teacher(depth: int = 4) -> VideoDiT:
    return tiny_model(std=0.05, depth=depth)


class _BlindDiscriminator(torch.nn.Module):
    """Ignores its input: a constant logit per sample."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.tensor(0.3))

    def forward(self, x, t, text):
        return self.bias.expand(x.shape[0])


def test_head_depths_follow_the_paper_fractions():
    assert head_depths_from_fractions((16 / 36, 26 / 36, 1.0), 36) == (16, 26, 36)
    assert head_depths_from_fractions((0.44, 0.72, 1.0), 6) == (3, 4, 6)
    with pytest.raises(ValueError):
        head_depths_from_fractions((0.0,), 6)


def test_heads_give_one_logit_per_sample_from_the_configured_depths():
    teacher = _teacher(depth=4)
    discriminator = APTDiscriminator(teacher, (2, 3))
    assert len(discriminator.backbone.blocks) == 3 and len(discriminator.heads) == 2
    logits = discriminator(torch.randn(5, 3, 4, 16, 16), torch.rand(5), random_text(5))
    assert logits.shape == (5,)
    for p in discriminator.parameters():  # every parameter is trained, the backbone's too
        assert p.requires_grad
    # initialised from the teacher, not shared with it
    copied = discriminator.backbone.blocks[0].mlp[0].weight
    original = teacher.blocks[0].mlp[0].weight
    assert torch.equal(copied, original) and copied is not original
    with pytest.raises(ValueError, match="outside"):
        APTDiscriminator(teacher, (5,))


def test_approximate_r1_is_zero_for_a_blind_discriminator_and_positive_otherwise():
    real, t, text = torch.randn(4, 3, 4, 16, 16), torch.rand(4), random_text(4)
    assert approximate_r1(_BlindDiscriminator(), real, t, text, sigma=0.1).item() == 0.0
    discriminator = APTDiscriminator(_teacher(), (2, 4))
    assert approximate_r1(discriminator, real, t, text, sigma=0.1).item() > 0.0


def test_r1_gradient_reaches_the_discriminator_only():
    generator, discriminator = _teacher(), APTDiscriminator(_teacher(), (2, 4))
    real = one_step_generate(generator, torch.randn(2, 3, 4, 16, 16), random_text(2)).detach()
    approximate_r1(discriminator, real, torch.rand(2), random_text(2), 0.1).backward()
    assert all(p.grad is None for p in generator.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in discriminator.parameters())


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def _unchanged(module, snapshot):
    return all(torch.equal(a, b) for a, b in zip(module.parameters(), snapshot, strict=True))


def test_a_generator_step_changes_no_discriminator_parameter_and_vice_versa():
    generator, discriminator = _teacher(), APTDiscriminator(_teacher(), (2, 4))
    loss = APTLoss(r1_sigma=0.1, timestep_shift=12.0)
    g_opt = torch.optim.RMSprop(generator.parameters(), lr=1e-3, alpha=0.9)
    d_opt = torch.optim.RMSprop(discriminator.parameters(), lr=1e-3, alpha=0.9)
    text, real = random_text(2), torch.rand(2, 3, 4, 16, 16) * 2 - 1

    d_before = _snapshot(discriminator)
    g_before = _snapshot(generator)
    discriminator.out_norm.requires_grad_(False)  # a flag `frozen` must give back as it was
    flags = [p.requires_grad for p in discriminator.parameters()]
    fake = one_step_generate(generator, torch.randn(2, 3, 4, 16, 16), text)
    g_opt.zero_grad()
    with frozen(discriminator):  # as the APT loop's G step
        loss.generator_terms(discriminator, fake, text)["g_loss"].backward()
    g_opt.step()
    assert all(p.grad is None for p in discriminator.parameters())
    assert [p.requires_grad for p in discriminator.parameters()] == flags
    discriminator.out_norm.requires_grad_(True)
    assert _unchanged(discriminator, d_before) and not _unchanged(generator, g_before)

    g_before = _snapshot(generator)
    fake = one_step_generate(generator, torch.randn(2, 3, 4, 16, 16), text)
    d_opt.zero_grad()
    terms = loss.discriminator_terms(discriminator, real, fake, text)
    terms["d_loss"].backward()
    d_opt.step()
    assert _unchanged(generator, g_before) and not _unchanged(discriminator, d_before)
    assert terms["r1"] > 0 and 0.0 <= terms["d_accuracy"] <= 1.0


def test_generator_output_has_the_data_shape_and_a_data_range():
    generator = _teacher()
    noise = torch.randn(3, 3, 4, 16, 16)
    sample = one_step_generate(generator, noise, random_text(3))
    assert sample.shape == noise.shape
    assert sample.abs().max() < 10  # z - v: same scale as the data, not blown up


def test_shift_matches_its_formula():
    t = torch.linspace(0, 1, 11)
    for s in (1.0, 3.0, 12.0):
        assert torch.allclose(shift_timesteps(t, s), s * t / (1 + (s - 1) * t))


def test_discriminator_terms_match_separate_forward_passes():
    """The loss batches real and fake into one D call; the terms equal those of separate calls."""
    discriminator = APTDiscriminator(_teacher(), (2, 4))
    text, real = random_text(2), torch.rand(2, 3, 4, 16, 16) * 2 - 1
    fake = torch.randn(2, 3, 4, 16, 16)
    loss = APTLoss(r1_weight=100.0, r1_sigma=0.1, timestep_shift=12.0)
    terms = loss.discriminator_terms(discriminator, real, fake, text,
                                     torch.Generator().manual_seed(3))
    draw = torch.Generator().manual_seed(3)  # the same draws, in the loss's order
    t = shift_timesteps(torch.rand(2, generator=draw), 12.0)
    noise = torch.randn(real.shape, generator=draw)
    d_real, d_fake = discriminator(real, t, text), discriminator(fake, t, text)
    expected_adv = torch.nn.functional.softplus(-d_real).mean() + \
        torch.nn.functional.softplus(d_fake).mean()
    expected_r1 = approximate_r1(discriminator, real, t, text, 0.1, noise)
    torch.testing.assert_close(terms["d_adv"], expected_adv, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(terms["r1"], expected_r1, rtol=1e-4, atol=1e-7)


def test_every_discriminator_parameter_gets_a_gradient_so_ddp_sees_none_unused():
    """DDP fails on parameters outside the graph: D must drop what it never runs (blocks past the
    deepest head, the output layer and the output conv)."""
    backbone = tiny_model(depth=4, output_conv=True)
    discriminator = APTDiscriminator(backbone, (2, 3))
    discriminator.backbone.null_text_tokens.requires_grad_(False)  # as build_players freezes them
    discriminator.backbone.null_text_pooled.requires_grad_(False)
    discriminator(torch.randn(2, 3, 4, 16, 16), torch.rand(2), random_text(2)).sum().backward()
    unused = [name for name, p in discriminator.named_parameters()
              if p.requires_grad and p.grad is None]
    assert unused == []


class _CaptionReader(torch.nn.Module):
    """Scores a clip by how well its mean colour matches the caption's first three pooled
    dimensions: a discriminator that reads the text."""

    def forward(self, x, t, text):
        return 20.0 * (x.mean(dim=(2, 3, 4)) * text.pooled[:, :3]).sum(dim=-1)


def _matching_batch():
    """Four clips whose mean colours are their captions' first three dimensions: two captions,
    each the other's opposite, so a wrong caption scores below a right one for `_CaptionReader`."""
    text = random_text(4)
    text.pooled[2:] = text.pooled[:2]  # clips 0 and 2, 1 and 3 share a caption
    for i in (0, 1):
        text.tokens[i + 2], text.mask[i + 2] = text.tokens[i], text.mask[i]
    colour = torch.nn.functional.normalize(torch.randn(3), dim=-1)
    colours = torch.stack([colour, -colour]).repeat(2, 1)  # the two items, opposite colours
    text.pooled[:, :3] = colours
    real = colours[:, :, None, None, None].expand(4, 3, 4, 16, 16).clone()
    return real, text


def test_the_matching_aware_term_is_off_at_zero_and_costs_a_blind_d_its_real_logit():
    real, text = _matching_batch()
    fake = torch.randn_like(real)
    paper = APTLoss(use_r1=False)
    off = APTLoss(use_r1=False, mismatch_weight=0.0)
    rng = torch.Generator().manual_seed(0)
    assert {k: v.item() for k, v in paper.discriminator_terms(
        _BlindDiscriminator(), real, fake, text, torch.Generator().manual_seed(0)).items()} == {
        k: v.item() for k, v in off.discriminator_terms(_BlindDiscriminator(), real, fake, text,
                                                        rng).items()}
    # A text-blind D gives a wrong caption the logit of the right one: the term is
    # w * softplus(D(x_real)), whichever caption it is shown.
    blind, weight = _BlindDiscriminator(), 0.5
    base = paper.discriminator_terms(blind, real, fake, text)["d_loss"]
    terms = APTLoss(use_r1=False, mismatch_weight=weight).discriminator_terms(
        blind, real, fake, text)
    expected = base + weight * torch.nn.functional.softplus(torch.tensor(0.3))
    assert terms["d_loss"].item() == pytest.approx(expected.item())
    assert terms["d_rejects_mismatch"].item() == 0.0


def test_a_d_that_reads_the_caption_rejects_wrong_ones_and_pays_less_for_them():
    real, text = _matching_batch()
    fake = torch.zeros_like(real)
    loss = APTLoss(use_r1=False, mismatch_weight=1.0)
    reader = loss.discriminator_terms(_CaptionReader(), real, fake, text)
    assert reader["d_rejects_mismatch"].item() > 0.5 and reader["d_mismatch"].item() < 0
    # The same D made blind to the text, with the logit the reader gives a right caption.
    blind = _BlindDiscriminator()
    with torch.no_grad():
        blind.bias.fill_(float(_CaptionReader()(real, None, text).mean()))
    blind_terms = loss.discriminator_terms(blind, real, fake, text)
    assert reader["d_loss"].item() < blind_terms["d_loss"].item()


def test_the_caption_projection_starts_at_zero_and_learns():
    teacher = _teacher()
    plain = APTDiscriminator(teacher, (2, 4))
    projected = APTDiscriminator(teacher, (2, 4), caption_projection=True)
    projected.load_state_dict(plain.state_dict(), strict=False)
    x, t, text = torch.randn(3, 3, 4, 16, 16), torch.rand(3), random_text(3)
    assert torch.equal(plain(x, t, text), projected(x, t, text))
    projected(x, t, text).sum().backward()
    assert projected.caption_projection.weight.grad.abs().sum() > 0
