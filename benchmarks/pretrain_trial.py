"""A pretrain recipe trial in one process (no Ray), for comparing recipes quickly.

    python benchmarks/pretrain_trial.py OUT_DIR [--steps 800] [--params JSON] [--overrides JSON]

Runs the pretrain loop's step (same loss, timestep sampler, lr schedule, EMA, image/video mix)
on the curated train clips with the global batch of the 2-worker default (2 x the per-worker
batch) in one process of 2 threads, and writes EMA checkpoints OUT_DIR/stepNNNNN that
`benchmarks/teacher_quality.py` and `benchmarks/caption_reliance.py` score. `--params` overrides
conf/base's `pretrain` block (e.g. '{"timesteps": {"shift": 3.0}}'), `--overrides` the model
preset's fields (e.g. '{"patch_t": 8}'). docs/pretrain_trials.md trials E-H ran a scratch copy
of it (same steps and random streams), trial I this file.
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd
import torch
import yaml

from seaweed_apt.config import PretrainConfig
from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TimestepSampler
from seaweed_apt.models.dit import VideoDiT, build_config
from seaweed_apt.training.checkpoint import write_checkpoint
from seaweed_apt.training.data import load_worker_clips
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.pretrain_loop import learning_rate
from seaweed_apt.training.stage import caption_index_by_shard

WORKERS = 2  # the CPU default's Ray workers: the global batch is this times the per-worker one


def merge(base: dict, changes: dict) -> dict:
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = merge(base[key], value) if isinstance(value, dict) and key in base else value
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--save-every", type=int, default=400)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--overrides", default="{}")
    parser.add_argument("--data", default="data")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with open("conf/base/parameters_pretrain.yml") as handle:
        base = yaml.safe_load(handle)["pretrain"]
    base = merge(base, {"steps": args.steps, "checkpoint_every": args.save_every,
                        "model": {"overrides": json.loads(args.overrides)}})
    config = PretrainConfig.model_validate(merge(base, json.loads(args.params)))
    torch.manual_seed(config.seed)
    model_config = build_config(config.model.preset, config.model.overrides)
    model = VideoDiT(model_config)
    ema = EMA(model, config.ema_decay)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    manifest = pd.read_parquet(f"{args.data}/03_primary/clip_manifest.parquet")
    clips = load_worker_clips(f"{args.data}/03_primary/clip_shards",
                              caption_index_by_shard(manifest),
                              f"{args.data}/04_feature/caption_embeddings.safetensors")
    loss_fn = RectifiedFlowLoss(TimestepSampler(**config.timesteps.model_dump()),
                                config.caption_dropout)
    saved_config = {"model": model_config.as_dict(), "model_preset": config.model.preset,
                    "stage": "pretrain", "train": config.model_dump()}
    window_loss, start = 0.0, time.perf_counter()
    for step in range(config.steps):
        generator = torch.Generator().manual_seed(step)
        if bool(torch.rand(1, generator=generator) < config.image_fraction):
            indices = torch.randint(len(clips), (WORKERS * config.image_batch_size,),
                                    generator=generator)
            x0, text = clips.frame_batch(indices, generator)
        else:
            indices = torch.randint(len(clips), (WORKERS * config.batch_size,),
                                    generator=generator)
            x0, text = clips.batch(indices)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        loss = loss_fn(model, x0, text, generator)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        ema.update(model, step)
        window_loss += loss.item()
        if (step + 1) % 50 == 0:
            print(f"step {step + 1} loss {window_loss / 50:.4f} "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
            window_loss = 0.0
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            write_checkpoint(f"{args.out}/step{step + 1:05d}", model, ema.model, None,
                             {"step": step + 1}, saved_config)
    print(f"done: {config.steps} steps in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
