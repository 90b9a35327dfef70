"""Stage B1 on Ray Train: consistency distillation (MSE) of the teacher, CFG baked in, into a
student whose output at t = 1 is a one-step sample (APT_METHOD.md §2).

Consistency function of a rectified-flow network: f(x, t) = x - t v(x, t), so f(x, 0) = x holds by
construction and f(z, 1) = z - v(z, 1) is APT's generator. Per step: x_{t_n} from data and noise,
one guided teacher Euler step to t_{n-1}, target f_target(x_{t_{n-1}}, t_{n-1}) from the EMA
target network, loss || f_student(x_{t_n}, t_n) - target ||^2.
"""

from __future__ import annotations

import time
from pathlib import Path

import ray.train.torch
import torch
import torch.nn.functional as F
from torch import nn

from seaweed_apt.config import DistillConfig
from seaweed_apt.diffusion.flow import TextBatch, interpolate, predict_velocity, shift_timesteps
from seaweed_apt.diffusion.sampling import guided_velocity
from seaweed_apt.training.checkpoint import (
    load_model,
    read_config,
    restore_training,
    unwrap,
    write_checkpoint,
)
from seaweed_apt.training.data import load_worker_clips
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.worker import progress_bar, report, resume, start_worker, step_seed


def consistency_output(model: nn.Module, x: torch.Tensor, t: torch.Tensor,
                       text: TextBatch) -> torch.Tensor:
    """f(x, t) = x - t v(x, t): the network's estimate of the clean sample."""
    return x - t.view(-1, *([1] * (x.dim() - 1))) * predict_velocity(model, x, t, text)


def consistency_terms(student: nn.Module, target: nn.Module, teacher: nn.Module,
                      x0: torch.Tensor, text: TextBatch, config: DistillConfig,
                      generator: torch.Generator, negative: TextBatch | None = None) -> dict:
    batch = x0.shape[0]
    n = torch.randint(1, config.intervals + 1, (batch,), generator=generator)
    t_high = shift_timesteps(n / config.intervals, config.timestep_shift).to(x0.device)
    t_low = shift_timesteps((n - 1) / config.intervals, config.timestep_shift).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    x_high = interpolate(x0, noise, t_high)
    with torch.no_grad():
        velocity = guided_velocity(teacher, x_high, t_high, text, config.cfg_scale, negative)
        x_low = x_high + (t_low - t_high).view(-1, 1, 1, 1, 1) * velocity.float()
        goal = consistency_output(target, x_low, t_low, text)
    prediction = consistency_output(student, x_high, t_high, text)
    return {"loss": F.mse_loss(prediction.float(), goal.float()),
            "t_mean": t_high.mean()}


def distill_loop_per_worker(loop_config: dict) -> dict | None:
    config = DistillConfig.model_validate(loop_config["distill"])
    worker = start_worker(loop_config.get("threads_per_worker", 1))
    teacher_dir = loop_config["teacher_dir"]
    teacher = load_model(teacher_dir).to(worker.device).requires_grad_(False)
    torch.manual_seed(config.seed)
    student = load_model(teacher_dir)  # the student starts as the teacher
    student.null_text_tokens.requires_grad_(False)  # the student never sees the null caption
    student.null_text_pooled.requires_grad_(False)
    target = EMA(student, config.target_ema_decay)
    optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad],
                                  lr=config.lr, weight_decay=0.0)
    state = resume(lambda folder: restore_training(folder, student, target.model, optimizer),
                   {"step": 0, "history": []}, worker.rank)
    target.model.to(worker.device)
    student = ray.train.torch.prepare_model(student)
    clips = load_worker_clips(loop_config["shards_dir"], loop_config["caption_index_by_shard"],
                              loop_config["captions_path"], worker.rank, worker.world_size)
    negative = None
    if loop_config.get("negative_text"):
        tokens, mask, pooled = (torch.tensor(v) for v in loop_config["negative_text"])
        negative = TextBatch(tokens, mask.bool(), pooled)
    saved_config = {"model": read_config(teacher_dir)["model"], "stage": "distill",
                    "train": config.model_dump(), "teacher": str(teacher_dir)}

    def save(folder: Path) -> Path:
        return write_checkpoint(folder, student, target.model, optimizer, state, saved_config)

    progress = progress_bar(config.steps, state["step"], "distill", worker.rank)
    window_loss, window_start, window_steps = 0.0, time.perf_counter(), 0
    while state["step"] < config.steps:
        step = state["step"]
        generator = torch.Generator().manual_seed(step_seed(config.seed, worker.rank, step))
        x0, text = clips.batch(torch.randint(len(clips), (config.batch_size,),
                                             generator=generator))
        text = text.to(worker.device)
        lr = config.lr * min(1.0, (step + 1) / max(config.warmup_steps, 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch_negative = (None if negative is None
                          else negative.repeat(x0.shape[0]).to(worker.device))
        with worker.autocast:
            terms = consistency_terms(student, target.model, teacher, x0.to(worker.device), text,
                                      config, generator, batch_negative)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(student.parameters(), config.grad_clip))
        optimizer.step()
        target.update(unwrap(student), step)
        state["step"] = step = step + 1
        window_loss += terms["loss"].item()
        window_steps += 1
        progress.update(1)
        at_checkpoint = step % config.checkpoint_every == 0 or step == config.steps
        if step % config.log_every and not at_checkpoint:
            continue
        elapsed = time.perf_counter() - window_start
        state["train_seconds"] = state.get("train_seconds", 0.0) + elapsed
        metrics = {"step": step, "loss": window_loss / window_steps, "grad_norm": grad_norm,
                   "lr": lr, "samples_per_s": window_steps * config.batch_size / elapsed,
                   "rank": worker.rank}
        progress.set_postfix(loss=f"{metrics['loss']:.4f}", refresh=False)
        state["history"].append(metrics)
        window_loss, window_start, window_steps = 0.0, time.perf_counter(), 0
        report(metrics, worker.rank, save if at_checkpoint else None)
    progress.close()
    if worker.rank == 0:
        return {"steps": state["step"], "resumed_from": state.get("resumed_from", [])}
    return None
