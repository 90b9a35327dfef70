"""Stage A on Ray Train: `train_loop_per_worker` for the rectified-flow teacher.

The contract (Ray docs): prepare the model (DDP), resume from `ray.train.get_checkpoint()`, seed
from (seed, rank, step), rank 0 writes checkpoints, every rank reports.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import ray.train.torch
import torch

from seaweed_apt.config import PretrainConfig
from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TimestepSampler
from seaweed_apt.models.dit import VideoDiT, build_config
from seaweed_apt.training.checkpoint import restore_training, unwrap, write_checkpoint
from seaweed_apt.training.data import load_worker_clips
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.worker import (
    inject_fault_once,
    progress_bar,
    report,
    resume,
    start_worker,
    step_seed,
)


def learning_rate(config: PretrainConfig, step: int) -> float:
    """Linear warm-up, then constant or a cosine down to lr x min_lr_fraction at the last step."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.lr_schedule == "constant":
        return config.lr
    progress = (step - config.warmup_steps) / max(config.steps - 1 - config.warmup_steps, 1)
    floor = config.lr * config.min_lr_fraction
    return floor + (config.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def train_loop_per_worker(loop_config: dict) -> dict | None:
    config = PretrainConfig.model_validate(loop_config["pretrain"])  # run_stage keys it by stage
    worker = start_worker(loop_config.get("threads_per_worker", 1))

    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model_config = build_config(config.model.preset, config.model.overrides)
    model = VideoDiT(model_config)
    ema = EMA(model, config.ema_decay)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    state = resume(lambda folder: restore_training(folder, model, ema.model, optimizer),
                   {"step": 0, "history": []}, worker.rank)
    ema.model.to(worker.device)
    model = ray.train.torch.prepare_model(model)

    clips = load_worker_clips(loop_config["shards_dir"], loop_config["caption_index_by_shard"],
                              loop_config["captions_path"], worker.rank, worker.world_size)
    loss_fn = RectifiedFlowLoss(TimestepSampler(**config.timesteps.model_dump()),
                                config.caption_dropout)
    saved_config = {"model": model_config.as_dict(), "model_preset": config.model.preset,
                    "stage": "pretrain", "train": config.model_dump(),
                    "data": loop_config.get("data_info", {})}

    def save(folder: Path) -> Path:
        return write_checkpoint(folder, model, ema.model, optimizer, state, saved_config)

    progress = progress_bar(config.steps, state["step"], "pretrain", worker.rank)
    window_loss, window_start, window_steps, window_samples = 0.0, time.perf_counter(), 0, 0
    while state["step"] < config.steps:
        step = state["step"]
        generator = torch.Generator().manual_seed(step_seed(config.seed, worker.rank, step))
        # Every rank draws the same coin (the seed leaves out the rank), so DDP ranks agree.
        image_step = bool(torch.rand(1, generator=torch.Generator().manual_seed(
            step_seed(config.seed, 0, step))) < config.image_fraction)
        if image_step:
            x0, text = clips.frame_batch(torch.randint(len(clips), (config.image_batch_size,),
                                                       generator=generator), generator)
        else:
            x0, text = clips.batch(torch.randint(len(clips), (config.batch_size,),
                                                 generator=generator))
        lr = learning_rate(config, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with worker.autocast:
            terms = loss_fn(model, x0.to(worker.device), text.to(worker.device), generator)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip))
        optimizer.step()
        ema.update(unwrap(model), step)
        state["step"] = step = step + 1
        window_loss += terms["loss"].item()
        window_steps += 1
        window_samples += x0.shape[0]
        progress.update(1)
        inject_fault_once(step, config.fail_once_at_step, worker.rank, loop_config["fault_marker"])

        at_checkpoint = step % config.checkpoint_every == 0 or step == config.steps
        if step % config.log_every and not at_checkpoint:
            continue
        elapsed = time.perf_counter() - window_start
        state["train_seconds"] = state.get("train_seconds", 0.0) + elapsed
        metrics = {"step": step, "loss": window_loss / window_steps, "grad_norm": grad_norm,
                   "lr": lr, "samples_per_s": window_samples / elapsed,
                   "rank": worker.rank}
        if not math.isfinite(metrics["loss"]):
            raise FloatingPointError(f"loss is {metrics['loss']} at step {step}: lower the lr")
        progress.set_postfix(loss=f"{metrics['loss']:.4f}", refresh=False)
        state["history"].append(metrics)
        window_loss, window_start, window_steps, window_samples = 0.0, time.perf_counter(), 0, 0
        report(metrics, worker.rank, save if at_checkpoint else None)
    progress.close()
    if worker.rank == 0:
        return {"steps": state["step"], "resumed_from": state.get("resumed_from", [])}
    return None
