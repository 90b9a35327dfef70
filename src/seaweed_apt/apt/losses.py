"""APT's adversarial objective (docs/method.md §3): non-saturating losses on clean samples, the
discriminator's timestep drawn as conditioning, and the approximated R1 penalty; optionally the
matching-aware term of text-to-image GANs (real clips with a wrong caption as negatives)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seaweed_apt.diffusion.flow import TextBatch, predict_velocity, shift_timesteps


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
    No double backward: it only needs a second forward pass (one, when D(x, c) is given)."""
    noise = torch.randn_like(real) if noise is None else noise
    perturbed = discriminator(real + sigma * noise, t, text)
    d_real = discriminator(real, t, text) if d_real is None else d_real
    return (d_real - perturbed).pow(2).mean()


def mismatched_captions(text: TextBatch) -> tuple[TextBatch, torch.Tensor]:
    """Each sample's caption swapped for the next sample's (a roll by one), and a mask (B,) of
    the samples whose swapped caption really differs (two clips of one item share a caption)."""
    order = torch.roll(torch.arange(text.pooled.shape[0], device=text.pooled.device), 1)
    wrong = TextBatch(text.tokens[order], text.mask[order], text.pooled[order])
    differs = (text.pooled[order] != text.pooled).any(dim=-1)
    return wrong, differs


@dataclass(frozen=True)
class APTLoss:
    """Holds the adversarial hyper-parameters; each call returns named terms."""

    r1_weight: float = 100.0  # lambda
    r1_sigma: float = 0.1  # 0.01 images, 0.1 video (paper)
    timestep_shift: float = 12.0
    use_r1: bool = True
    mismatch_weight: float = 0.0  # 0: the paper's loss; > 0: + w softplus(D(x_real, c_wrong))

    def discriminator_terms(self, discriminator: nn.Module, real: torch.Tensor,
                            fake: torch.Tensor, text: TextBatch,
                            rng: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """L_D = softplus(-D(x_real, c)) + softplus(D(G(z), c)) + lambda * L_aR1 (fake detached),
        plus, with `mismatch_weight` w > 0, w * softplus(D(x_real, c')) for a wrong caption c'
        (the matching-aware loss of GAN-CLS, Reed et al. 2016): D must read the caption to win.
        Terms: d_adv, d_real, d_fake, d_accuracy, r1, d_loss, and with w > 0 d_mismatch (the
        mean logit on wrong captions) and d_rejects_mismatch (the share of real clips D scores
        lower with the wrong caption than with their own)."""
        t = discriminator_timesteps(real.shape[0], self.timestep_shift, rng, real.device)
        # One forward over real and fake together: small batches run faster as one.
        d_real, d_fake = discriminator(torch.cat([real, fake.detach()]), t.repeat(2),
                                       text.repeat(2)).chunk(2)
        adversarial = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        terms = {"d_adv": adversarial, "d_real": d_real.mean().detach(),
                 "d_fake": d_fake.mean().detach(),
                 "d_accuracy": ((d_real > 0).float().mean() + (d_fake < 0).float().mean()) / 2}
        if self.mismatch_weight > 0:
            wrong, differs = mismatched_captions(text)
            if differs.any():  # else every clip of the batch shares one caption: none is wrong
                d_mismatch = discriminator(real[differs], t[differs], TextBatch(
                    wrong.tokens[differs], wrong.mask[differs], wrong.pooled[differs]))
                adversarial = adversarial + self.mismatch_weight * F.softplus(d_mismatch).mean()
                terms["d_mismatch"] = d_mismatch.mean().detach()
                # Against the same clip with its own caption: a D that scores every input
                # below 0 has not learned to read the caption.
                terms["d_rejects_mismatch"] = (d_mismatch < d_real[differs]).float().mean()
        r1 = torch.zeros((), device=real.device)
        if self.use_r1:
            noise = torch.randn(real.shape, generator=rng).to(real.device)
            r1 = approximate_r1(discriminator, real, t, text, self.r1_sigma, noise, d_real)
        terms["r1"] = r1.detach()
        terms["d_loss"] = adversarial + self.r1_weight * r1
        return terms

    def generator_terms(self, discriminator: nn.Module, fake: torch.Tensor, text: TextBatch,
                        rng: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """L_G = softplus(-D(G(z)))."""
        t = discriminator_timesteps(fake.shape[0], self.timestep_shift, rng, fake.device)
        d_fake = discriminator(fake, t, text)
        return {"g_loss": F.softplus(-d_fake).mean(), "d_fake_for_g": d_fake.mean().detach()}
