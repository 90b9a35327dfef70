"""The adversarial loss switches of issue 38 (docs/method.md §3): off reproduces the paper's loss;
each term matches its definition on a small example; negatives cost a D only what it can read."""

import json

import pytest
import torch
import torch.nn.functional as F

from seaweed_apt.apt.discriminator import APTDiscriminator
from seaweed_apt.apt.losses import APTLoss, discriminator_timesteps, motion_negative
from seaweed_apt.text.batch import TextBatch
from tests.helpers import random_text, tiny_model


class _MeanReader(torch.nn.Module):
    """D(x) = 3 * mean(x): reads the clip's brightness, blind to time, order and caption."""

    def forward(self, x, t, text, return_features=False):
        logits = 3.0 * x.mean(dim=(1, 2, 3, 4))
        return (logits, x.mean(dim=(2, 3, 4))) if return_features else logits


class _MotionReader(torch.nn.Module):
    """D(x) = 10 * (how much the bright mass moves right over time): +1 for a clip moving
    right, -1 for one moving left or standing still; blind to the caption."""

    def forward(self, x, t, text, return_features=False):
        columns = torch.arange(x.shape[-1], dtype=x.dtype)
        mass = (x.mean(dim=1) + 1.001).sum(dim=2)  # (B, T, W), never 0
        centre = (mass * columns).sum(-1) / mass.sum(-1)  # (B, T)
        drift = (centre[:, -1] - centre[:, 0]).clamp(-1, 1)
        logits = 10.0 * torch.where(drift.abs() < 0.1, -torch.ones_like(drift), drift)
        return (logits, centre) if return_features else logits


def _moving_right(batch: int = 2) -> torch.Tensor:
    """(B, 3, 4, 8, 8) clips: a bright column moving right one pixel per frame on -1."""
    video = -torch.ones(batch, 3, 4, 8, 8)
    for frame in range(4):
        video[:, :, frame, :, 2 + frame] = 1.0
    return video


def test_every_switch_off_reproduces_the_papers_loss():
    """The defaults against the formula written out: f(-D(x)) + f(D(G(z))) + lambda aR1 for D,
    f(-D(G(z))) for G; the same random draws, the same terms, no new ones."""
    torch.manual_seed(0)
    discriminator = APTDiscriminator(tiny_model(std=0.05), (1, 2))
    real, fake, text = torch.randn(3, 3, 4, 16, 16), torch.randn(3, 3, 4, 16, 16), random_text(3)
    loss = APTLoss(r1_weight=100.0, r1_sigma=0.03)
    terms = loss.discriminator_terms(discriminator, real, fake, text,
                                     torch.Generator().manual_seed(1))
    rng = torch.Generator().manual_seed(1)
    t = discriminator_timesteps(3, 12.0, rng, "cpu")
    d_real, d_fake = discriminator(real, t, text), discriminator(fake, t, text)
    noise = torch.randn(real.shape, generator=rng)
    r1 = (d_real - discriminator(real + 0.03 * noise, t, text)).pow(2).mean()
    expected = F.softplus(-d_real).mean() + F.softplus(d_fake).mean() + 100.0 * r1
    assert terms["d_loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert set(terms) == {"d_adv", "d_real", "d_fake", "d_accuracy", "r1", "d_loss"}
    g_terms = loss.generator_terms(discriminator, fake, text, torch.Generator().manual_seed(2))
    t = discriminator_timesteps(3, 12.0, torch.Generator().manual_seed(2), "cpu")
    assert g_terms["g_loss"].item() == pytest.approx(
        F.softplus(-discriminator(fake, t, text)).mean().item(), rel=1e-5)
    assert set(g_terms) == {"g_loss", "d_fake_for_g"}


def test_the_relativistic_loss_and_r2_match_their_definitions_on_two_samples():
    """D(x) = 3 mean(x) on two real clips of mean 0.5 and -0.2 and two fakes of mean 0.1 and 0.3:
    logits 1.5, -0.6 and 0.3, 0.9. RpGAN: L_D = mean f(D(fake_i) - D(real_i)), L_G = mean
    f(D(real_i) - D(fake_i)). aR2 = mean (D(fake) - D(fake + sigma n))^2 = (3 sigma mean(n))^2."""
    shape = (3, 2, 4, 4)
    real = torch.stack([torch.full(shape, 0.5), torch.full(shape, -0.2)])
    fake = torch.stack([torch.full(shape, 0.1), torch.full(shape, 0.3)])
    text = random_text(2)
    loss = APTLoss(use_r1=False, adversarial="relativistic", r2_weight=2.0, r1_sigma=0.1)
    terms = loss.discriminator_terms(_MeanReader(), real, fake, text,
                                     torch.Generator().manual_seed(0))
    rng = torch.Generator().manual_seed(0)
    discriminator_timesteps(2, 12.0, rng, "cpu")  # the draws before R2's noise
    noise = torch.randn(fake.shape, generator=rng)
    r2 = (3 * 0.1 * noise.mean(dim=(1, 2, 3, 4))).pow(2).mean()
    d_adv = (F.softplus(torch.tensor(0.3 - 1.5)) + F.softplus(torch.tensor(0.9 + 0.6))) / 2
    assert terms["d_adv"].item() == pytest.approx(d_adv.item(), rel=1e-5)
    assert terms["r2"].item() == pytest.approx(r2.item(), rel=1e-4)
    assert terms["d_loss"].item() == pytest.approx(d_adv.item() + 2.0 * r2.item(), rel=1e-5)
    assert terms["d_accuracy"].item() == 0.5  # real 1 beats its fake, real 2 does not
    g = loss.generator_terms(_MeanReader(), fake, text, real=real)
    g_loss = (F.softplus(torch.tensor(1.5 - 0.3)) + F.softplus(torch.tensor(-0.6 - 0.9))) / 2
    assert g["g_loss"].item() == pytest.approx(g_loss.item(), rel=1e-5)
    with pytest.raises(ValueError, match="need the real batch"):
        loss.generator_terms(_MeanReader(), fake, text)


def test_feature_matching_is_the_squared_gap_between_mean_features():
    real = torch.stack([torch.full((3, 2, 4, 4), v) for v in (0.5, -0.2)])
    fake = torch.stack([torch.full((3, 2, 4, 4), v) for v in (0.1, 0.3)])
    loss = APTLoss(use_r1=False, feature_matching_weight=4.0)
    g = loss.generator_terms(_MeanReader(), fake, random_text(2), real=real)
    # Each of the 3 channel means: fake 0.2, real 0.15 -> gap^2 0.0025.
    assert g["g_feature_matching"].item() == pytest.approx(0.0025, rel=1e-4)
    assert g["g_loss"].item() == pytest.approx(g["g_adv"].item() + 4.0 * 0.0025, rel=1e-4)


def test_motion_negatives_are_the_clip_frozen_reversed_or_transposed():
    clip = _moving_right(1)
    assert torch.equal(motion_negative(clip, "frozen")[:, :, 3], clip[:, :, 0])
    assert torch.equal(motion_negative(clip, "reversed")[:, :, 0], clip[:, :, 3])
    assert torch.equal(motion_negative(clip, "transposed")[..., 2, :], clip[..., :, 2])
    with pytest.raises(ValueError, match="2\\+ frames"):
        motion_negative(clip[:, :, :1], "frozen")
    with pytest.raises(ValueError, match="square"):
        motion_negative(clip[..., :4], "transposed")
    with pytest.raises(ValueError, match="motion negative 'sideways'"):
        APTLoss(motion_negatives=("sideways",))


@pytest.mark.parametrize("adversarial", ["nonsaturating", "relativistic"])
def test_motion_negatives_cost_a_d_that_reads_motion_less_and_leave_a_blind_d_at_its_real_logit(
        adversarial):
    """A D that reads the motion scores frozen, reversed and transposed clips below the real one
    and pays less for them than a D blind to time, which must give each negative the logit of
    the real clip it came from (so its negative term is its real clips' term as a fake)."""
    real, fake, text = _moving_right(2), -torch.ones(2, 3, 4, 8, 8), random_text(2)
    kinds = ("frozen", "reversed", "transposed")
    base = APTLoss(use_r1=False, adversarial=adversarial)
    loss = APTLoss(use_r1=False, adversarial=adversarial, motion_negatives=kinds,
                   motion_negative_weight=1.0)
    reader = loss.discriminator_terms(_MotionReader(), real, fake, text)
    assert reader["d_rejects_motion_negative"].item() == 1.0
    blind = loss.discriminator_terms(_MeanReader(), real, fake, text)
    assert blind["d_rejects_motion_negative"].item() == 0.0
    d_real = _MeanReader()(real, None, text)
    as_fake = F.softplus(d_real - d_real) if adversarial == "relativistic" else F.softplus(d_real)
    blind_base = base.discriminator_terms(_MeanReader(), real, fake, text)["d_loss"]
    # Transposing and freezing keep the mean; every negative reads as its real clip.
    assert blind["d_loss"].item() == pytest.approx((blind_base + as_fake.mean()).item(), rel=1e-5)
    reader_base = base.discriminator_terms(_MotionReader(), real, fake, text)["d_loss"]
    assert reader["d_loss"] - reader_base < blind["d_loss"] - blind_base


def test_wrong_captions_follow_the_relativistic_form_when_it_is_on():
    """A caption-blind D gives the wrong caption its real logit: under the relativistic loss
    the matching-aware term is then w * f(0) = w log 2."""
    real, text = torch.randn(4, 3, 2, 4, 4), random_text(4)
    fake = torch.randn_like(real)
    base = APTLoss(use_r1=False, adversarial="relativistic")
    loss = APTLoss(use_r1=False, adversarial="relativistic", mismatch_weight=0.5)
    difference = (loss.discriminator_terms(_MeanReader(), real, fake, text)["d_loss"]
                  - base.discriminator_terms(_MeanReader(), real, fake, text)["d_loss"])
    assert difference.item() == pytest.approx(0.5 * torch.log(torch.tensor(2.0)).item())


def test_the_discriminator_returns_the_features_its_logit_reads():
    torch.manual_seed(0)
    discriminator = APTDiscriminator(tiny_model(std=0.05), (1, 2))
    x, t, text = torch.randn(2, 3, 4, 16, 16), torch.rand(2), random_text(2)
    logits, features = discriminator(x, t, text, return_features=True)
    assert torch.equal(logits, discriminator(x, t, text))
    assert features.shape == (2, 2 * discriminator.config.hidden)
    assert torch.allclose(discriminator.out(features).squeeze(-1), logits, atol=1e-6)


SWITCHES = {
    "paper": {},
    "relativistic": {"adversarial_loss": "relativistic"},
    "r2": {"r2_weight": 10.0},
    "feature_matching": {"feature_matching_weight": 1.0},
    "mismatch": {"mismatch_weight": 1.0},
    "regression": {"regression_weight": 1.0},
}


@pytest.mark.parametrize("image_mode", [True, False], ids=["image", "video"])
def test_apt_runs_an_update_with_each_loss(pretrained_root, four_teacher_pairs, tmp_path,
                                           image_mode):
    """Each switch on its own for one G update, on single frames (image mode, the paper's first
    phase; the regression term once crashed there) and on clips (+ motion negatives)."""
    from seaweed_apt.apt.apt_phase import build_apt_phase
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import APTConfig
    from seaweed_apt.training.checkpoint import STATE_FILE
    from seaweed_apt.training.loop import training_loop
    from seaweed_apt.training.worker import LocalWorker
    from tests.conftest import PROJECT_ROOT
    from tests.helpers import apt_loop_config

    switches = dict(SWITCHES)
    if not image_mode:
        switches["motion_negatives"] = {"motion_negatives": ["frozen", "reversed", "transposed"],
                                        "motion_negative_weight": 1.0}
    for name, switch in switches.items():
        apt = load_config(APTConfig, PROJECT_ROOT / "conf", "test", "parameters_posttrain.yml",
                          "posttrain.apt", generator_updates=1, log_every=1, image_mode=image_mode,
                          **{"regression_weight": 0.0, **switch})
        folder = tmp_path / name
        training_loop(build_apt_phase, apt_loop_config(pretrained_root, apt, four_teacher_pairs),
                      LocalWorker.start(folder, 1))
        row = json.loads((folder / "step-00001" / STATE_FILE).read_text())["history"][-1]
        assert all(torch.isfinite(torch.tensor(value)) for value in row.values()
                   if isinstance(value, float)), (name, row)
        expected = {"r2": "r2", "feature_matching": "g_feature_matching",
                    "regression": "g_regression", "motion_negatives": "d_motion_negative"}
        if name in expected:
            assert expected[name] in row, (name, sorted(row))


def test_image_mode_refuses_motion_negatives():
    from pydantic import ValidationError

    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import APTConfig
    from tests.conftest import PROJECT_ROOT

    with pytest.raises(ValidationError, match="motion_negatives need clips"):
        load_config(APTConfig, PROJECT_ROOT / "conf", "test", "parameters_posttrain.yml",
                    "posttrain.apt", image_mode=True, motion_negatives=["frozen"],
                    motion_negative_weight=1.0)


def test_paper_env_undoes_the_apt_departures():
    """`--env paper` is the paper's B2: D lr = G lr, no regression term, sigma 0.1, plain EMA."""
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.posttrain import APTConfig
    from tests.conftest import PROJECT_ROOT

    paper = load_config(APTConfig, PROJECT_ROOT / "conf", "paper", "parameters_posttrain.yml",
                        "posttrain.apt")
    default = load_config(APTConfig, PROJECT_ROOT / "conf", "base", "parameters_posttrain.yml",
                          "posttrain.apt")
    assert paper.d_lr == paper.g_lr == default.g_lr
    assert (paper.regression_weight, paper.r1_sigma, paper.r1_weight) == (0.0, 0.1, 100.0)
    assert not paper.ema_warmup and paper.adversarial_loss == "nonsaturating"
    assert paper.generator_updates == default.generator_updates  # the same budget


def test_text_batches_repeat_for_negatives():
    text = random_text(2)
    assert torch.equal(TextBatch.repeat(text, 3).pooled[4], text.pooled[0])
