"""Stage A as a training phase: the rectified-flow teacher (docs/method.md §1), joint image-video
steps, AdamW with warm-up and a cosine or constant schedule, EMA of the weights."""

from __future__ import annotations

import torch
from torch import nn

from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TimestepSampler
from seaweed_apt.models.dit import VideoDiT, build_config, flops_per_sample
from seaweed_apt.training.data import ClipSet
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.loop import (
    LoopConfig,
    LoopSchedule,
    StepResult,
    TrainingPhase,
    single_loss_step,
)
from seaweed_apt.training.schedule import learning_rate
from seaweed_apt.training.worker import Worker, step_seed


def build_pretrain_phase(loop_config: LoopConfig[PretrainConfig], worker: Worker
                         ) -> TrainingPhase:
    """The phase of `loop_config.phase`; every checkpoint's config.json also says how many
    training clips of which shape it learned from."""
    config = loop_config.phase
    clips = loop_config.clips
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model_config = build_config(config.model.preset, config.model.overrides)
    model = VideoDiT(model_config)
    ema = EMA(model, config.ema_decay, config.ema_warmup)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    loss_fn = RectifiedFlowLoss(TimestepSampler(**config.timesteps.model_dump()),
                                config.caption_dropout)

    def train_step(networks: dict[str, nn.Module], clips: ClipSet, rng: torch.Generator,
                   step: int) -> StepResult:
        model = networks["model"]
        # Every rank draws the same coin (the seed leaves out the rank), so DDP ranks agree.
        image_step = bool(torch.rand(1, generator=torch.Generator().manual_seed(
            step_seed(config.seed, 0, step))) < config.image_fraction)
        if image_step:
            x0, text = clips.frame_batch(torch.randint(len(clips), (config.image_batch_size,),
                                                       generator=rng), rng)
        else:
            x0, text = clips.batch(torch.randint(len(clips), (config.batch_size,),
                                                 generator=rng))
        with worker.autocast:
            terms = loss_fn(model, x0.to(worker.device), text.to(worker.device), rng)
        lr = learning_rate(step, config.lr, config.warmup_steps, config.steps,
                           config.lr_schedule, config.min_lr_fraction)
        result = single_loss_step(optimizer, terms["loss"], model.parameters(), config.grad_clip,
                                  lr, x0.shape[0])
        # Image and video steps differ in FLOPs: forward and backward, 3 forwards per clip.
        result.flops = 3 * x0.shape[0] * flops_per_sample(model_config, *x0.shape[2:])
        return result

    return TrainingPhase(
        name="pretrain", schedule=LoopSchedule.of(config), networks={"model": model},
        optimizers={"optimizer": optimizer}, ema=ema, train_step=train_step,
        saved_config={"model": model_config.as_dict(), "model_preset": config.model.preset,
                      "stage": "pretrain", "train": config.model_dump(),
                      "data": {"train_clips": clips.count("train"),
                               "clip_shape": list(clips.clip_shape)}})
