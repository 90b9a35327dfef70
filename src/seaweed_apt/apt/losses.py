"""APT's adversarial objective (docs/method.md §3): non-saturating losses on clean samples, the
discriminator's timestep drawn as conditioning, and the approximated R1 penalty. Switches for what
came after the paper (docs/method.md, departures table; ../APT_METHOD.md §7), each off by default:
the relativistic pairing loss and the approximated R2 of SeedVR2 and AAPT, feature matching on
D's features, and negatives D must reject to win: real clips with a wrong caption (the
matching-aware loss of GAN-CLS) and real clips whose motion no longer fits their caption."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import torch
import torch.nn.functional as F
from torch import nn

from seaweed_apt.config.posttrain import AdversarialLoss, MotionNegative
from seaweed_apt.diffusion.flow import predict_velocity, shift_timesteps
from seaweed_apt.text.batch import TextBatch

ADVERSARIAL_LOSSES = get_args(AdversarialLoss)
MOTION_NEGATIVES = get_args(MotionNegative)


def one_step_generate(generator: nn.Module, noise: torch.Tensor, text: TextBatch) -> torch.Tensor:
    """G(z, c) = z - v_hat(z, c, T): the network always sees the final timestep T = 1."""
    t = torch.ones(noise.shape[0], device=noise.device)
    return noise - predict_velocity(generator, noise, t, text)


def discriminator_timesteps(batch: int, shift: float, rng: torch.Generator | None,
                            device) -> torch.Tensor:
    """t ~ shift(U(0, 1), s), one per sample (s = 1 images, 12 video in the paper)."""
    return shift_timesteps(torch.rand(batch, generator=rng), shift).to(device)


def approximate_r1(discriminator: nn.Module, real: torch.Tensor, t: torch.Tensor,
                   text: TextBatch, sigma: float, noise: torch.Tensor | None = None,
                   d_real: torch.Tensor | None = None) -> torch.Tensor:
    """L_aR1 = || D(x, c) - D(x + sigma n, c) ||^2 on real data, same t and c for both terms.
    No double backward: it only needs a second forward pass (one, when D(x, c) is given).
    The approximated R2 (SeedVR2, AAPT) is the same penalty on generated samples: pass them."""
    noise = torch.randn_like(real) if noise is None else noise
    perturbed = discriminator(real + sigma * noise, t, text)
    d_real = discriminator(real, t, text) if d_real is None else d_real
    return (d_real - perturbed).pow(2).mean()


def mismatched_captions(text: TextBatch) -> tuple[TextBatch, torch.Tensor]:
    """Each sample's caption swapped for the next sample's (a roll by one), and a mask (B,) of
    the samples whose swapped caption really differs (two clips of one item share a caption)."""
    order = torch.roll(torch.arange(text.pooled.shape[0], device=text.pooled.device), 1)
    wrong = text.select(order)
    differs = (text.pooled[order] != text.pooled).any(dim=-1)
    return wrong, differs


def motion_negative(real: torch.Tensor, kind: str) -> torch.Tensor:
    """A real clip (B, C, T, H, W) changed so its motion no longer fits its caption: `frozen`,
    its first frame held (a still clip: the motion collapse of adversarial distillation, AAD-1);
    `reversed`, played backwards (a wrong direction; a bounce reversed is still a bounce);
    `transposed`, H and W swapped (horizontal and vertical motion trade places; the item is
    transposed too). Raises ValueError on an unknown kind, a single frame, or a non-square
    frame for `transposed`."""
    if kind not in MOTION_NEGATIVES:
        raise ValueError(f"motion negative {kind!r}: use one of {MOTION_NEGATIVES}")
    if real.shape[2] < 2:
        raise ValueError(f"motion negatives need clips of 2+ frames, got {real.shape[2]}")
    if kind == "frozen":
        return real[:, :, :1].expand_as(real).contiguous()
    if kind == "reversed":
        return real.flip(2)
    if real.shape[3] != real.shape[4]:
        raise ValueError(f"a transposed negative needs square frames, got {tuple(real.shape[3:])}")
    return real.transpose(3, 4).contiguous()


@dataclass(frozen=True)
class APTLoss:
    """Holds the adversarial hyper-parameters; each call returns named terms. The defaults are
    the paper's loss (its video R1 sigma)."""

    r1_weight: float = 100.0  # lambda
    r1_sigma: float = 0.1  # 0.01 images, 0.1 video (paper); also R2's
    timestep_shift: float = 12.0
    use_r1: bool = True
    mismatch_weight: float = 0.0  # 0: the paper's loss; > 0: + w f(D(x_real, c_wrong))
    adversarial: str = "nonsaturating"  # or "relativistic" (RpGAN; SeedVR2, AAPT)
    r2_weight: float = 0.0  # approximated R2 on generated samples (SeedVR2, AAPT)
    motion_negatives: tuple[str, ...] = ()  # kinds of `motion_negative`
    motion_negative_weight: float = 0.0
    feature_matching_weight: float = 0.0  # G: || E f(G(z)) - E f(x) ||^2 on D's features

    def __post_init__(self) -> None:
        if self.adversarial not in ADVERSARIAL_LOSSES:
            raise ValueError(f"adversarial loss {self.adversarial!r}: use one of "
                             f"{ADVERSARIAL_LOSSES}")
        for kind in self.motion_negatives:
            if kind not in MOTION_NEGATIVES:
                raise ValueError(f"motion negative {kind!r}: use one of {MOTION_NEGATIVES}")

    def _as_fake(self, d_negative: torch.Tensor, d_real: torch.Tensor) -> torch.Tensor:
        """D's loss for scoring `d_negative` as fake: f(D(neg)), or with the relativistic loss
        f(D(neg) - D(real)) against the paired real sample; f = softplus."""
        if self.adversarial == "relativistic":
            return F.softplus(d_negative - d_real)
        return F.softplus(d_negative)

    def discriminator_terms(self, discriminator: nn.Module, real: torch.Tensor,
                            fake: torch.Tensor, text: TextBatch,
                            rng: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Non-saturating: L_D = f(-D(x_real, c)) + f(D(G(z), c)); relativistic pairing
        (R3GAN eq. 2): L_D = f(D(G(z), c) - D(x_real, c)), sample i of each batch paired, one t
        for the pair; f = softplus, fake detached. Plus lambda * L_aR1 on real and, with
        `r2_weight` > 0, r2_weight * L_aR2 on fake; with `mismatch_weight` w > 0,
        w * f(D(x_real, c')) for a wrong caption c' (GAN-CLS, Reed et al. 2016), and with
        `motion_negative_weight` > 0 the same for each of `motion_negatives` (a real clip whose
        motion contradicts its caption), so D must read the caption and the motion to win
        (relativistic: each against its real clip).
        Terms: d_adv, d_real, d_fake, d_accuracy (share of real scored above 0 and fake below;
        relativistic: real above its fake), r1, d_loss; with w > 0 d_mismatch and
        d_rejects_mismatch (share of real clips D scores lower with the wrong caption), r2 with
        r2_weight > 0, d_motion_negative and d_rejects_motion_negative with motion negatives."""
        t = discriminator_timesteps(real.shape[0], self.timestep_shift, rng, real.device)
        # One forward over real and fake together: small batches run faster as one.
        d_real, d_fake = discriminator(torch.cat([real, fake.detach()]), t.repeat(2),
                                       text.repeat(2)).chunk(2)
        if self.adversarial == "relativistic":
            adversarial = F.softplus(d_fake - d_real).mean()
            accuracy = (d_real > d_fake).float().mean()
        else:
            adversarial = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
            accuracy = ((d_real > 0).float().mean() + (d_fake < 0).float().mean()) / 2
        terms = {"d_adv": adversarial, "d_real": d_real.mean().detach(),
                 "d_fake": d_fake.mean().detach(), "d_accuracy": accuracy}
        if self.mismatch_weight > 0:
            wrong, differs = mismatched_captions(text)
            if differs.any():  # else every clip of the batch shares one caption: none is wrong
                d_mismatch = discriminator(real[differs], t[differs], wrong.select(differs))
                adversarial = adversarial + self.mismatch_weight * self._as_fake(
                    d_mismatch, d_real[differs]).mean()
                terms["d_mismatch"] = d_mismatch.mean().detach()
                # Against the same clip with its own caption: a D that scores every input
                # below 0 has not learned to read the caption.
                terms["d_rejects_mismatch"] = (d_mismatch < d_real[differs]).float().mean()
        if self.motion_negative_weight > 0 and self.motion_negatives:
            kinds = len(self.motion_negatives)
            negatives = torch.cat([motion_negative(real, kind) for kind in self.motion_negatives])
            d_negative = discriminator(negatives, t.repeat(kinds), text.repeat(kinds))
            d_own = d_real.repeat(kinds)
            adversarial = adversarial + self.motion_negative_weight * self._as_fake(
                d_negative, d_own).mean()
            terms["d_motion_negative"] = d_negative.mean().detach()
            terms["d_rejects_motion_negative"] = (d_negative < d_own).float().mean()
        penalty = torch.zeros((), device=real.device)
        r1 = torch.zeros((), device=real.device)
        if self.use_r1:
            noise = torch.randn(real.shape, generator=rng).to(real.device)
            r1 = approximate_r1(discriminator, real, t, text, self.r1_sigma, noise, d_real)
            penalty = penalty + self.r1_weight * r1
        terms["r1"] = r1.detach()
        if self.r2_weight > 0:
            noise = torch.randn(fake.shape, generator=rng).to(fake.device)
            r2 = approximate_r1(discriminator, fake.detach(), t, text, self.r1_sigma, noise,
                                d_fake)
            penalty = penalty + self.r2_weight * r2
            terms["r2"] = r2.detach()
        terms["d_loss"] = adversarial + penalty
        return terms

    def generator_terms(self, discriminator: nn.Module, fake: torch.Tensor, text: TextBatch,
                        rng: torch.Generator | None = None,
                        real: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Non-saturating: L_G = f(-D(G(z), c)); relativistic: L_G = f(D(x_real, c) -
        D(G(z), c)) with `real` paired to `fake` sample by sample (one t for the pair; D(x_real)
        is a constant to G). With `feature_matching_weight` w > 0, + w || mean_i h(G(z_i)) -
        mean_i h(x_i) ||^2 over D's features h (Salimans et al. 2016; SeedVR2 matches D's
        features). Raises ValueError when the loss needs `real` and it is None."""
        needs_real = self.adversarial == "relativistic" or self.feature_matching_weight > 0
        if needs_real and real is None:
            raise ValueError("the relativistic loss and feature matching need the real batch")
        t = discriminator_timesteps(fake.shape[0], self.timestep_shift, rng, fake.device)
        if self.feature_matching_weight > 0:
            d_fake, fake_features = discriminator(fake, t, text, return_features=True)
        else:
            d_fake = discriminator(fake, t, text)
        terms = {"d_fake_for_g": d_fake.mean().detach()}
        if needs_real:
            with torch.no_grad():
                d_real, real_features = discriminator(real, t, text, return_features=True)
        if self.adversarial == "relativistic":
            g_loss = F.softplus(d_real - d_fake).mean()
        else:
            g_loss = F.softplus(-d_fake).mean()
        if self.feature_matching_weight > 0:
            terms["g_adv"] = g_loss.detach()
            matching = (fake_features.float().mean(0) - real_features.float().mean(0)).pow(2)
            terms["g_feature_matching"] = matching.mean().detach()
            g_loss = g_loss + self.feature_matching_weight * matching.mean()
        terms["g_loss"] = g_loss
        return terms
