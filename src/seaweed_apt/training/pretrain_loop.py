"""Stage A on Ray Train: `train_loop_per_worker` for the rectified-flow teacher.

The contract (Ray docs): prepare the model (DDP), resume from `ray.train.get_checkpoint()`, seed
from (seed, rank, step), rank 0 writes checkpoints, every rank reports.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from pathlib import Path

import ray.train
import ray.train.torch
import torch
from tqdm.auto import tqdm

from seaweed_apt.config import PretrainConfig
from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TimestepSampler
from seaweed_apt.models.dit import VideoDiT, build_config
from seaweed_apt.training.checkpoint import restore_training, unwrap, write_checkpoint
from seaweed_apt.training.data import load_worker_clips
from seaweed_apt.training.ema import EMA

logger = logging.getLogger(__name__)


def step_seed(seed: int, rank: int, step: int) -> int:
    """One reproducible random stream per (seed, rank, step): a resumed run draws what the
    uninterrupted run would have drawn."""
    return (seed * 1_000_003 + rank * 10_007 + step) % (2**63)


def learning_rate(config: PretrainConfig, step: int) -> float:
    """Linear warm-up, then constant."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    return config.lr


def train_loop_per_worker(loop_config: dict) -> dict | None:
    config = PretrainConfig.model_validate(loop_config["pretrain"])
    torch.set_num_threads(loop_config.get("threads_per_worker", 1))
    context = ray.train.get_context()
    rank, world_size = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()

    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model_config = build_config(config.model.preset, config.model.overrides)
    model = VideoDiT(model_config)
    ema = EMA(model, config.ema_decay)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    state = {"step": 0, "history": []}
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            state = restore_training(folder, model, ema.model, optimizer)
        state.setdefault("resumed_from", []).append(state["step"])
        logger.info("rank %d resumed at step %d", rank, state["step"])
    ema.model.to(device)
    model = ray.train.torch.prepare_model(model)

    clips = load_worker_clips(loop_config["shards_dir"], loop_config["caption_index_by_shard"],
                              loop_config["captions_path"], rank, world_size)
    loss_fn = RectifiedFlowLoss(TimestepSampler(**config.timesteps.model_dump()),
                                config.caption_dropout)
    saved_config = {"model": model_config.as_dict(), "model_preset": config.model.preset,
                    "stage": "pretrain", "train": config.model_dump(),
                    "data": loop_config.get("data_info", {})}
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    progress = tqdm(total=config.steps, initial=state["step"], desc="pretrain", unit="step",
                    disable=rank != 0)
    window_loss, window_start, window_steps = 0.0, time.perf_counter(), 0
    while state["step"] < config.steps:
        step = state["step"]
        generator = torch.Generator().manual_seed(step_seed(config.seed, rank, step))
        indices = torch.randint(len(clips), (config.batch_size,), generator=generator)
        x0, text = clips.batch(indices)
        lr = learning_rate(config, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast:
            terms = loss_fn(model, x0.to(device), text.to(device), generator)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip))
        optimizer.step()
        ema.update(unwrap(model), step)
        state["step"] = step = step + 1
        window_loss += float(terms["loss"])
        window_steps += 1
        progress.update(1)

        if config.fail_once_at_step == step and rank == 0:
            marker = Path(loop_config["fault_marker"])
            if not marker.exists():
                marker.touch()
                raise RuntimeError(f"injected worker fault at step {step} (fail_once_at_step)")

        at_checkpoint = step % config.checkpoint_every == 0 or step == config.steps
        if step % config.log_every and not at_checkpoint:
            continue
        elapsed = time.perf_counter() - window_start
        metrics = {"step": step, "loss": window_loss / window_steps, "grad_norm": grad_norm,
                   "lr": lr, "samples_per_s": window_steps * config.batch_size / elapsed,
                   "rank": rank}
        if not math.isfinite(metrics["loss"]):
            raise FloatingPointError(f"loss is {metrics['loss']} at step {step}: lower the lr")
        progress.set_postfix(loss=f"{metrics['loss']:.4f}")
        state["history"].append(metrics)
        window_loss, window_start, window_steps = 0.0, time.perf_counter(), 0
        if not at_checkpoint:
            ray.train.report(metrics)
            continue
        with tempfile.TemporaryDirectory() as scratch:
            folder = None
            if rank == 0:
                folder = write_checkpoint(Path(scratch) / "checkpoint", model, ema.model,
                                          optimizer, state, saved_config)
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(folder)
                             if folder else None)
    progress.close()
    if rank == 0:
        return {"steps": state["step"], "resumed_from": state.get("resumed_from", [])}
    return None
