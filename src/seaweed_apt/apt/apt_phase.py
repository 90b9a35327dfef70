"""Stage B2 as a training phase: adversarial post-training (docs/method.md §3).

G starts from the distilled student and always sees t = 1; D is the teacher's backbone with query
heads at several depths. Alternating D and G updates with RMSProp (alpha 0.9), no weight decay,
no clipping; the approximated R1 on every D step; EMA of G, checkpointed every K G updates.
With `image_phase.updates` > 0, the paper's schedule: single frames first with the image
settings, then G restarts from their EMA and D from its initial weights for the video updates.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seaweed_apt.apt.collapse import CollapseWatch, batch_diversity
from seaweed_apt.apt.discriminator import APTDiscriminator, head_depths_from_fractions
from seaweed_apt.apt.distill_phase import freeze_null_caption
from seaweed_apt.apt.losses import APTLoss, one_step_generate
from seaweed_apt.apt.teacher_pairs import TeacherPairs
from seaweed_apt.config.posttrain import APTConfig
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.training.checkpoint import load_model, read_config, unwrap
from seaweed_apt.training.data import ClipSet
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.loop import (
    LoopConfig,
    LoopSchedule,
    StepResult,
    TrainingPhase,
    optimize,
)
from seaweed_apt.training.schedule import learning_rate
from seaweed_apt.training.worker import Worker

DISCRIMINATOR_TERMS = ("d_adv", "d_real", "d_fake", "d_accuracy", "r1")
# Logged only when their switch is on (posttrain.apt: mismatch_weight, r2_weight,
# motion_negative_weight, feature_matching_weight; the regression term).
OPTIONAL_D_TERMS = ("d_mismatch", "d_rejects_mismatch", "r2", "d_motion_negative",
                    "d_rejects_motion_negative")
OPTIONAL_G_TERMS = ("g_adv", "g_feature_matching", "g_regression")

logger = logging.getLogger(__name__)


@contextmanager
def frozen(module: nn.Module):
    """No weight gradients for `module` inside (inputs still get theirs); restores the flags."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def build_players(config: APTConfig, teacher_dir: str, distilled_dir: str
                  ) -> tuple[nn.Module, APTDiscriminator]:
    """G from the distilled student (EMA weights); D from the teacher or the student's weights.
    Neither ever reads the null caption: it stays frozen."""
    generator = load_model(distilled_dir, use_ema=True)
    freeze_null_caption(generator)
    backbone = load_model(teacher_dir if config.discriminator_init == "teacher" else distilled_dir)
    depths = head_depths_from_fractions(config.head_depth_fractions, len(backbone.blocks))
    discriminator = APTDiscriminator(backbone, depths, config.caption_projection)
    freeze_null_caption(discriminator.backbone)
    return generator, discriminator


def rmsprop(module: nn.Module, lr: float, alpha: float,
            lr_of: dict[nn.Module, float] | None = None) -> torch.optim.RMSprop:
    """RMSprop (smoothing `alpha`, no weight decay) over `module`'s trainable weights at `lr`,
    the submodules in `lr_of` at their own. Groups marked "own_lr" keep their lr through every
    schedule (`APTStep.set_learning_rates`)."""
    own = {id(p): lr for sub, lr in (lr_of or {}).items() for p in sub.parameters()}
    groups: dict[tuple[bool, float], list] = {}
    for p in module.parameters():
        if p.requires_grad:
            groups.setdefault((id(p) in own, own.get(id(p), lr)), []).append(p)
    return torch.optim.RMSprop([{"params": ps, "lr": group_lr, "own_lr": own_lr}
                                for (own_lr, group_lr), ps in groups.items()],
                               lr=lr, alpha=alpha, weight_decay=0.0)


def apt_losses(config: APTConfig) -> tuple[APTLoss, APTLoss]:
    """The video phase's loss and the image phase's: its own timestep shift and aR1 sigma (paper:
    1 and 0.01), and no motion negatives on a single frame."""
    video = APTLoss(config.r1_weight, config.r1_sigma, config.timestep_shift, config.use_r1,
                    config.mismatch_weight, config.adversarial_loss, config.r2_weight,
                    config.motion_negatives, config.motion_negative_weight,
                    config.feature_matching_weight)
    image = APTLoss(config.r1_weight, config.image_phase.r1_sigma,
                    config.image_phase.timestep_shift, config.use_r1, config.mismatch_weight,
                    config.adversarial_loss, config.r2_weight, (), 0.0,
                    config.feature_matching_weight)
    return video, image


class APTStep:
    """One generator update of APT and what it keeps between updates: the two optimisers, the
    losses of the image and video phases, D's initial weights (the video phase restarts D from
    them), the teacher pairs of the regression term, and the collapse watch."""

    def __init__(self, config: APTConfig, generator: nn.Module, discriminator: APTDiscriminator,
                 ema: EMA, pairs: TeacherPairs | None, worker: Worker) -> None:
        self.config, self.ema, self.pairs, self.worker = config, ema, pairs, worker
        self.image_updates = config.image_phase.updates
        # D's weights before any update: the video phase restarts D from them (the paper resets
        # D to the diffusion weights for video).
        self.discriminator_start = {key: value.detach().clone() for key, value in
                                    discriminator.state_dict().items()} \
            if self.image_updates else None
        # RMSprop moves each weight by about lr per update, so a zero-started W at D's 2e-5 reads
        # the caption only after hundreds of updates (docs/lab/apt_trials.md, trial 15): W gets
        # its own.
        projection = {discriminator.caption_projection: config.caption_projection_lr} \
            if discriminator.caption_projection is not None else None
        self.g_optimizer = rmsprop(generator, config.g_lr, config.rmsprop_alpha)
        self.d_optimizer = rmsprop(discriminator, config.d_lr, config.rmsprop_alpha, projection)
        self.video_loss, self.image_loss = apt_losses(config)
        self.watch = CollapseWatch(config.collapse_watch)

    def set_learning_rates(self, step: int) -> dict[str, float]:
        """Sets the lrs of 0-based generator update `step`: the image phase's, or the video lrs
        on `lr_schedule` over the video updates (W of the caption projection keeps its own).
        Returns them as {"g_lr", "d_lr"}."""
        config = self.config
        video_step = step - self.image_updates
        factor = 1.0 if video_step < 0 else learning_rate(
            video_step, 1.0, 0, config.generator_updates - self.image_updates,
            config.lr_schedule, config.min_lr_fraction)
        lrs = {}
        for key, optimizer, image_lr, video_lr in (
                ("g_lr", self.g_optimizer, config.image_phase.g_lr, config.g_lr),
                ("d_lr", self.d_optimizer, config.image_phase.d_lr, config.d_lr)):
            lrs[key] = image_lr if video_step < 0 else video_lr * factor
            for group in optimizer.param_groups:
                if not group.get("own_lr"):
                    group["lr"] = lrs[key]
        return lrs

    def start_video_phase(self, generator: nn.Module, discriminator: nn.Module) -> None:
        """G from the image updates' EMA, D from its initial weights, both optimisers afresh
        (APT §3: "video starts G from the image EMA checkpoint and resets D")."""
        logger.info("apt: %d image updates done: G restarts from their EMA, D from its initial "
                    "weights, for the video updates", self.image_updates)
        unwrap(generator).load_state_dict(self.ema.model.state_dict())
        unwrap(discriminator).load_state_dict(self.discriminator_start)
        self.g_optimizer.state.clear()
        self.d_optimizer.state.clear()

    def real_batch(self, clips: ClipSet, rng: torch.Generator, images: bool
                   ) -> tuple[torch.Tensor, TextBatch]:
        real, text = clips.batch(torch.randint(len(clips), (self.config.batch_size,),
                                               generator=rng))
        if images:
            real = real[:, :, :1]
        return real.to(self.worker.device), text.to(self.worker.device)

    def discriminator_step(self, generator: nn.Module, discriminator: nn.Module, loss: APTLoss,
                           real: torch.Tensor, text: TextBatch, rng: torch.Generator
                           ) -> dict[str, torch.Tensor]:
        """One D update: real vs. a fresh fake; G is not differentiated."""
        worker = self.worker
        with torch.no_grad(), worker.autocast:
            fake = one_step_generate(generator, torch.randn(real.shape, generator=rng)
                                     .to(worker.device), text)
        with worker.autocast:
            d_terms = loss.discriminator_terms(discriminator, real, fake.float(), text, rng)
        optimize(self.d_optimizer, d_terms["d_loss"])
        return d_terms

    def generator_step(self, generator: nn.Module, discriminator: nn.Module, loss: APTLoss,
                       real: torch.Tensor, text: TextBatch, rng: torch.Generator, images: bool
                       ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """One G update: gradients pass through D to G. D runs outside DDP with its weights
        frozen: its weight gradients would be all-reduced and then thrown away. Returns G's
        terms and the fake batch."""
        worker, pairs = self.worker, self.pairs
        self.g_optimizer.zero_grad(set_to_none=True)
        noise = torch.randn(real.shape, generator=rng).to(worker.device)
        with frozen(unwrap(discriminator)) as plain_discriminator:
            with worker.autocast:
                if pairs is None:
                    fake = one_step_generate(generator, noise, text)
                else:
                    # One forward for both batches: two forwards of a DDP module before one
                    # backward would mark its parameters ready twice.
                    rows = torch.randint(len(pairs), (self.config.batch_size,), generator=rng)
                    pair_noise, pair_text, pair_sample = pairs.batch(rows, worker.device)
                    if images:
                        # The pairs are clips; on images G draws single frames. Their first
                        # frames are the target: an image the teacher drew for the caption, a
                        # looser tie than a clip's (its first frame also saw the other frames'
                        # noise).
                        pair_noise, pair_sample = pair_noise[:, :, :1], pair_sample[:, :, :1]
                    both = one_step_generate(generator, torch.cat([noise, pair_noise]),
                                             TextBatch.cat([text, pair_text]))
                    fake, pair_fake = both.split([noise.shape[0], pair_noise.shape[0]])
                g_terms = loss.generator_terms(plain_discriminator, fake.float(), text, rng,
                                               real)
            g_total = g_terms["g_loss"]
            if pairs is not None:
                g_terms["g_regression"] = F.mse_loss(pair_fake.float(), pair_sample.float())
                g_total = g_total + self.config.regression_weight * g_terms["g_regression"]
            g_total.backward()
        self.g_optimizer.step()
        return g_terms, fake

    def __call__(self, networks: dict[str, nn.Module], clips: ClipSet, rng: torch.Generator,
                 step: int) -> StepResult:
        """The loop's `train_step`: D update(s), then one G update."""
        config = self.config
        generator, discriminator = networks["model"], networks["discriminator"]
        if self.image_updates and step == self.image_updates:
            self.start_video_phase(generator, discriminator)
        # The image phase's settings apply to its updates only; image_mode alone keeps the video
        # settings on single frames.
        image_phase = step < self.image_updates
        images = config.image_mode or image_phase
        loss = self.image_loss if image_phase else self.video_loss
        lrs = self.set_learning_rates(step)
        if step == 0 and config.discriminator_warmup_updates:
            # Before G moves, D learns to tell the student's samples from real ones (and, with
            # the matching-aware term, a clip's own caption from a wrong one). A resumed run
            # starts past step 0 with the warmed D in its checkpoint.
            logger.info("apt: %d discriminator updates before the first generator update",
                        config.discriminator_warmup_updates)
            for _ in range(config.discriminator_warmup_updates):
                self.discriminator_step(generator, discriminator, loss,
                                        *self.real_batch(clips, rng, images), rng)
        real, text = self.real_batch(clips, rng, images)
        d_terms = self.discriminator_step(generator, discriminator, loss, real, text, rng)
        g_terms, fake = self.generator_step(generator, discriminator, loss, real, text, rng,
                                            images)
        terms = {key: float(d_terms[key].detach()) for key in DISCRIMINATOR_TERMS
                 + OPTIONAL_D_TERMS if key in d_terms}
        terms |= {key: float(g_terms[key].detach()) for key in ("g_loss",) + OPTIONAL_G_TERMS
                  if key in g_terms}
        terms |= {"fake_std": float(fake.detach().float().std()),
                  "diversity": batch_diversity(fake, real)}
        return StepResult(terms, real.shape[0], lrs)

    def end_after_window(self, metrics: dict, step: int) -> bool:
        metrics["collapse_flag"] = float(self.watch.update(metrics["d_adv"], step))
        # Ranks see different batches, so they agree on stopping before anyone leaves the loop
        # (a rank that left alone would hang the others in DDP's next all-reduce).
        return self.config.collapse_watch.stop and self.worker.any_rank(
            metrics["collapse_flag"] > 0)


@dataclass(frozen=True)
class APTInputs:
    """What an APT worker reads besides the clips: the config, the teacher's files (D starts
    from its backbone), the distilled generator's files (G starts from them), and with
    `regression_weight` > 0 the teacher pairs (a file of `make_teacher_pairs`); each a folder
    or storage URI."""

    config: APTConfig
    teacher_uri: str
    distilled_uri: str
    teacher_pairs_uri: str | None = None


def build_apt_phase(loop_config: LoopConfig[APTInputs], worker: Worker) -> TrainingPhase:
    """The APT phase of `loop_config.phase`."""
    inputs = loop_config.phase
    config = inputs.config
    torch.manual_seed(config.seed)
    generator, discriminator = build_players(config, inputs.teacher_uri, inputs.distilled_uri)
    ema = EMA(generator, config.ema_decay if config.use_ema else 0.0, config.ema_warmup,
              warmup_restart=config.image_phase.updates)
    pairs = None
    if config.regression_weight > 0:
        pairs = TeacherPairs.load(inputs.teacher_pairs_uri, loop_config.clips.caption_table_uri,
                                  worker.rank, worker.world_size)
    step = APTStep(config, generator, discriminator, ema, pairs, worker)
    return TrainingPhase(
        name="apt", schedule=LoopSchedule.of(config, steps=config.generator_updates),
        networks={"model": generator, "discriminator": discriminator},
        optimizers={"optimizer": step.g_optimizer, "discriminator_optimizer": step.d_optimizer},
        ema=ema, train_step=step, progress_keys=("d_adv", "g_loss", "d_accuracy"),
        end_after_window=step.end_after_window,
        saved_config={"model": read_config(inputs.distilled_uri)["model"],
                      "stage": "apt", "train": config.model_dump(),
                      "head_depths": list(discriminator.head_depths)})
