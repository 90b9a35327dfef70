"""`posttrain` (conf/base/parameters_posttrain.yml): stage B, distillation then APT."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from seaweed_apt.config.base import LoopConfig, StrictConfig

# APT's loss switches (apt/losses.py reads these names; no torch here, config loads are cheap).
AdversarialLoss = Literal["nonsaturating", "relativistic"]
MotionNegative = Literal["frozen", "reversed", "transposed"]


class DistillConfig(LoopConfig):
    """Stage B1 (docs/method.md §2): consistency distillation with an MSE loss, CFG baked in."""

    steps: int = Field(ge=1)
    lr: float = Field(gt=0.0)
    warmup_steps: int = Field(ge=0)
    grad_clip: float = Field(gt=0.0)
    cfg_scale: float = Field(ge=1.0)
    negative_prompt: str = Field(description="'' : the teacher's learned null caption")
    objective: str = Field(pattern="^(consistency|regression)$",
                           description="consistency (the paper) | regression onto teacher samples")
    regression_pairs: int = Field(ge=1, description="teacher (noise, caption, sample) triples, "
                                                     "all workers together")
    regression_teacher_steps: int = Field(ge=1, description="Euler steps of those samples")
    intervals: int = Field(ge=1, description="N of the consistency time grid")
    timestep_shift: float = Field(gt=0.0, description="shift of the time grid: the consistency "
                                  "grid, or the teacher pairs' Euler steps")
    target_ema_decay: float = Field(ge=0.0, lt=1.0)
    target_ema_warmup: bool = Field(description="min(decay, (1+n)/(10+n)); off: decay^n")


class CollapseWatchConfig(StrictConfig):
    """D's loss near 0 for a while is the paper's 'coloured plates' collapse."""

    d_loss_floor: float = Field(ge=0.0)
    patience: int = Field(ge=1, description="consecutive logged windows")
    stop: bool


class ImagePhaseConfig(StrictConfig):
    """The paper's image-then-video schedule (APT §3, docs/method.md §3): the first `updates`
    generator updates train on single frames with these settings; then G restarts from their
    EMA, D from its initial weights, both optimisers and the EMA's warm-up afresh, and the
    remaining updates train on clips with the video settings."""

    updates: int = Field(ge=0, description="image updates first; 0: video from the first update")
    g_lr: float = Field(gt=0.0)
    d_lr: float = Field(gt=0.0)
    r1_sigma: float = Field(gt=0.0)
    timestep_shift: float = Field(gt=0.0)


class APTConfig(LoopConfig):
    """Stage B2 (docs/method.md §3): adversarial post-training of the one-step generator."""

    generator_updates: int = Field(ge=1)
    g_lr: float = Field(gt=0.0)
    d_lr: float = Field(gt=0.0)
    lr_schedule: Literal["constant", "cosine"] = Field(
        description="constant: the paper's; cosine: G's and D's video lrs fall to lr x "
                    "min_lr_fraction at the last update (R3GAN decays its lrs so)")
    min_lr_fraction: float = Field(ge=0.0, le=1.0)
    rmsprop_alpha: float = Field(gt=0.0, lt=1.0)
    use_r1: bool
    r1_weight: float = Field(ge=0.0)
    r1_sigma: float = Field(gt=0.0)
    timestep_shift: float = Field(gt=0.0)
    head_depth_fractions: tuple[Annotated[float, Field(gt=0.0, le=1.0)], ...] = Field(
        min_length=1, description="blocks the heads read, as fractions of the depth")
    mismatch_weight: float = Field(ge=0.0, description="0: the paper's D loss; > 0: real clips "
                                                       "with a wrong caption as negatives")
    adversarial_loss: AdversarialLoss = Field(
        description="nonsaturating: the paper's; relativistic: the pairing loss of SeedVR2/AAPT")
    r2_weight: float = Field(ge=0.0, description="0: the paper's; > 0: + w * approximated R2 "
                                                 "(aR1's penalty on generated samples)")
    feature_matching_weight: float = Field(ge=0.0, description="0: the paper's G loss; > 0: + w "
                                           "||E h(G(z)) - E h(x)||^2 on D's head features")
    motion_negatives: tuple[MotionNegative, ...] = Field(
        description="real clips changed so their motion contradicts their caption")
    motion_negative_weight: float = Field(ge=0.0, description="0: no motion negatives; > 0: "
                                          "their weight in D's loss")
    caption_projection: bool = Field(description="add <W c, h> to D's logit, W zero at start")
    caption_projection_lr: float = Field(gt=0.0, description="RMSprop lr of W (with "
                                         "caption_projection); D's other weights use d_lr")
    discriminator_warmup_updates: int = Field(ge=0, description="D updates alone before G's "
                                              "first update (0: the paper's alternation)")
    regression_weight: float = Field(ge=0.0, description="0: the paper's G loss; > 0: + w "
                                     "||G(z, c) - x_teacher(z, c)||^2 on distillation's "
                                     "teacher pairs (DMD2's regression loss)")
    use_ema: bool
    ema_decay: float = Field(ge=0.0, lt=1.0)
    ema_warmup: bool = Field(description="min(decay, (1+n)/(10+n)); off: decay^n")
    discriminator_init: str = Field(pattern="^(teacher|distilled)$")
    image_mode: bool = Field(description="train on single frames (images) throughout")
    image_phase: ImagePhaseConfig
    collapse_watch: CollapseWatchConfig

    @model_validator(mode="after")
    def _motion_negatives_need_video(self) -> APTConfig:
        if self.image_mode and self.motion_negative_weight > 0 and self.motion_negatives:
            raise ValueError("motion_negatives need clips: image_mode trains on single frames, "
                             "where a frozen or reversed clip is the clip itself")
        if self.image_phase.updates and (self.image_mode
                                         or self.image_phase.updates >= self.generator_updates):
            raise ValueError(
                f"image_phase.updates {self.image_phase.updates} needs video updates after it: "
                f"set it below generator_updates ({self.generator_updates}) with image_mode "
                "false (image_mode alone trains on single frames throughout)")
        return self
