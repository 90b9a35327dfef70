"""Stage B2 on Ray Train: adversarial post-training (APT_METHOD.md §3).

G starts from the distilled student and always sees t = 1; D is the teacher's backbone with query
heads at several depths. Alternating D and G updates with RMSProp (alpha 0.9), no weight decay,
no clipping; the approximated R1 on every D step; EMA of G, checkpointed every K G updates.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import ray.train.torch
import torch

from seaweed_apt.apt.collapse import CollapseWatch, batch_diversity
from seaweed_apt.apt.discriminator import APTDiscriminator, head_depths_from_fractions
from seaweed_apt.apt.losses import APTLoss, one_step_generate
from seaweed_apt.config import APTConfig
from seaweed_apt.training.checkpoint import (
    load_model,
    read_config,
    restore_training,
    unwrap,
    write_checkpoint,
)
from seaweed_apt.training.data import load_worker_clips
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.worker import (
    any_rank,
    inject_fault_once,
    progress_bar,
    report,
    resume,
    start_worker,
    step_seed,
)


def _freeze_null_caption(model: torch.nn.Module) -> None:
    """Neither G nor D ever reads the null caption in APT: frozen, DDP sees no unused parameter."""
    model.null_text_tokens.requires_grad_(False)
    model.null_text_pooled.requires_grad_(False)


@contextmanager
def frozen(module: torch.nn.Module):
    """No weight gradients for `module` inside (inputs still get theirs); restores the flags."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def build_players(config: APTConfig, teacher_dir: str, distilled_dir: str):
    """G from the distilled student (EMA weights); D from the teacher or the student's weights."""
    generator = load_model(distilled_dir, use_ema=True)
    _freeze_null_caption(generator)
    backbone = load_model(teacher_dir if config.discriminator_init == "teacher" else distilled_dir)
    depths = head_depths_from_fractions(config.head_depth_fractions, len(backbone.blocks))
    discriminator = APTDiscriminator(backbone, depths)
    _freeze_null_caption(discriminator.backbone)
    return generator, discriminator


def apt_loop_per_worker(loop_config: dict) -> dict | None:
    config = APTConfig.model_validate(loop_config["apt"])
    worker = start_worker(loop_config.get("threads_per_worker", 1))
    torch.manual_seed(config.seed)
    generator, discriminator = build_players(config, loop_config["teacher_dir"],
                                             loop_config["distilled_dir"])
    ema = EMA(generator, config.ema_decay if config.use_ema else 0.0)

    def rmsprop(module):
        return torch.optim.RMSprop([p for p in module.parameters() if p.requires_grad],
                                   lr=config.g_lr if module is generator else config.d_lr,
                                   alpha=config.rmsprop_alpha, weight_decay=0.0)

    g_optimizer, d_optimizer = rmsprop(generator), rmsprop(discriminator)
    state = resume(lambda folder: restore_training(
        folder, generator, ema.model, g_optimizer, {"discriminator": discriminator},
        {"d_optimizer": d_optimizer}), {"step": 0, "history": []}, worker.rank)
    ema.model.to(worker.device)
    generator = ray.train.torch.prepare_model(generator)
    discriminator = ray.train.torch.prepare_model(discriminator)
    loss = APTLoss(config.r1_weight, config.r1_sigma, config.timestep_shift, config.use_r1)
    clips = load_worker_clips(loop_config["shards_dir"], loop_config["caption_index_by_shard"],
                              loop_config["captions_path"], worker.rank, worker.world_size)
    watch = CollapseWatch(config.collapse_watch)
    saved_config = {"model": read_config(loop_config["distilled_dir"])["model"],
                    "stage": "apt", "train": config.model_dump(),
                    "head_depths": list(unwrap(discriminator).head_depths)}

    def save(folder: Path) -> Path:
        return write_checkpoint(folder, generator, ema.model, g_optimizer, state, saved_config,
                                {"discriminator": discriminator}, {"d_optimizer": d_optimizer})

    progress = progress_bar(config.generator_updates, state["step"], "apt", worker.rank)
    window, window_start = defaultdict(float), time.perf_counter()
    while state["step"] < config.generator_updates:
        step = state["step"]
        rng = torch.Generator().manual_seed(step_seed(config.seed, worker.rank, step))
        real, text = clips.batch(torch.randint(len(clips), (config.batch_size,), generator=rng))
        if config.image_mode:
            real = real[:, :, :1]
        real, text = real.to(worker.device), text.to(worker.device)

        # D step: real vs. a fresh fake; G is not differentiated.
        with torch.no_grad(), worker.autocast:
            fake = one_step_generate(generator, torch.randn(real.shape, generator=rng)
                                     .to(worker.device), text)
        with worker.autocast:
            d_terms = loss.discriminator_terms(discriminator, real, fake.float(), text, rng)
        d_optimizer.zero_grad(set_to_none=True)
        d_terms["d_loss"].backward()
        d_optimizer.step()

        # G step: gradients pass through D to G. D runs outside DDP with its weights frozen:
        # its weight gradients would be all-reduced and then thrown away.
        g_optimizer.zero_grad(set_to_none=True)
        with frozen(unwrap(discriminator)) as plain_discriminator:
            with worker.autocast:
                fake = one_step_generate(generator, torch.randn(real.shape, generator=rng)
                                         .to(worker.device), text)
                g_terms = loss.generator_terms(plain_discriminator, fake.float(), text, rng)
            g_terms["g_loss"].backward()
        g_optimizer.step()
        ema.update(unwrap(generator), step)

        state["step"] = step = step + 1
        for key in ("d_adv", "d_real", "d_fake", "d_accuracy", "r1"):
            window[key] += float(d_terms[key])
        window["g_loss"] += float(g_terms["g_loss"])
        window["fake_std"] += float(fake.detach().float().std())
        window["diversity"] += batch_diversity(fake, real)
        window["steps"] += 1
        progress.update(1)
        inject_fault_once(step, config.fail_once_at_step, worker.rank, loop_config["fault_marker"])

        at_checkpoint = step % config.checkpoint_every == 0 or step == config.generator_updates
        if step % config.log_every and not at_checkpoint:
            continue
        count = window.pop("steps")
        metrics = {key: value / count for key, value in window.items()}
        elapsed = time.perf_counter() - window_start
        state["train_seconds"] = state.get("train_seconds", 0.0) + elapsed
        metrics |= {"step": step, "rank": worker.rank,
                    "samples_per_s": count * config.batch_size / elapsed}
        metrics["collapse_flag"] = float(watch.update(metrics["d_adv"], step))
        # Ranks see different batches, so they agree on stopping before anyone leaves the loop
        # (a rank that left alone would hang the others in DDP's next all-reduce).
        stop_now = config.collapse_watch.stop and any_rank(metrics["collapse_flag"] > 0)
        progress.set_postfix(d=f"{metrics['d_adv']:.3f}", g=f"{metrics['g_loss']:.3f}",
                             acc=f"{metrics['d_accuracy']:.2f}", refresh=False)
        state["history"].append(metrics)
        window, window_start = defaultdict(float), time.perf_counter()
        report(metrics, worker.rank, save if at_checkpoint or stop_now else None)
        if stop_now:
            break
    progress.close()
    if worker.rank == 0:
        return {"steps": state["step"], "resumed_from": state.get("resumed_from", [])}
    return None
