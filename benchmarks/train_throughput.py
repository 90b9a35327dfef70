"""Ray Train overhead: samples/s of the same model and global batch under TorchTrainer (2 workers
x 1 thread, DDP over gloo; and 1 worker x 2 threads, no DDP) and in a plain single-process loop
(2 threads), measured in one run.

    python benchmarks/train_throughput.py [--preset cpu --batch 8 --steps 40 --size 32 --frames 16]

The Ray figure counts only steady-state steps inside the workers (the first steps warm up), so it
measures the training loop, not Ray's start-up; start-up is printed separately.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from seaweed_apt.config.loading import load_config
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TimestepSampler
from seaweed_apt.models.dit import VideoDiT, build_config, describe
from seaweed_apt.text.batch import TextBatch

WARMUP = 5


def synthetic_batch(batch: int, frames: int, size: int, seed: int):
    rng = torch.Generator().manual_seed(seed)
    x0 = torch.rand(batch, 3, frames, size, size, generator=rng) * 2 - 1
    text = TextBatch(torch.randn(batch, 24, 384, generator=rng),
                     torch.ones(batch, 24, dtype=torch.bool),
                     torch.randn(batch, 384, generator=rng))
    return x0, text


def timed_steps(model, batch: int, frames: int, size: int, steps: int, seed: int) -> float:
    """Seconds for `steps` optimiser steps after WARMUP untimed ones."""
    loss = RectifiedFlowLoss(TimestepSampler())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x0, text = synthetic_batch(batch, frames, size, seed)
    for step in range(WARMUP + steps):
        if step == WARMUP:
            start = time.perf_counter()
        optimizer.zero_grad()
        loss(model, x0, text, torch.Generator().manual_seed(step))["loss"].backward()
        optimizer.step()
    return time.perf_counter() - start


def ray_loop(config: dict) -> dict:
    import ray.train
    import ray.train.torch

    torch.set_num_threads(config["threads"])
    torch.manual_seed(0)
    model = ray.train.torch.prepare_model(VideoDiT(build_config(config["preset"])))
    rank = ray.train.get_context().get_world_rank()
    seconds = timed_steps(model, config["batch"], config["frames"], config["size"],
                          config["steps"], rank)
    ray.train.report({"seconds": seconds, "rank": rank})
    return {"seconds": seconds}  # Train V2: rank 0's return value reaches the driver


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--batch", type=int, default=8, help="per worker (Ray) / per step (plain)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args()
    size = describe(build_config(args.preset), args.frames, args.size, args.size)
    print(f"model {args.preset}: {size}")

    # Plain loop: one process, 2 threads, the global batch of both Ray workers.
    torch.set_num_threads(2)
    torch.manual_seed(0)
    global_batch = 2 * args.batch
    plain_seconds = timed_steps(VideoDiT(build_config(args.preset)), global_batch, args.frames,
                                args.size, args.steps, 0)
    plain_rate = global_batch * args.steps / plain_seconds

    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from seaweed_apt.ray_runtime import ensure_ray

    ensure_ray(load_config(RayConfig, "conf", "local", "parameters.yml", "ray"))
    rows = [("plain loop, 1 process x 2 threads ", plain_rate, "")]
    for workers, threads in ((2, 1), (1, 2)):
        start = time.perf_counter()
        trainer = TorchTrainer(
            ray_loop, train_loop_config={"preset": args.preset, "batch": global_batch // workers,
                                         "frames": args.frames, "size": args.size,
                                         "steps": args.steps, "threads": threads},
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=False,
                                         resources_per_worker={"CPU": threads}),
            run_config=RunConfig(name=f"throughput-{os.getpid()}-{workers}",
                                 storage_path="/tmp/seaweed-bench"),
        )
        result = trainer.fit()
        total = time.perf_counter() - start
        seconds = result.return_value["seconds"]  # rank 0's timed steps (DDP keeps ranks in step)
        rows.append((f"TorchTrainer, {workers} worker{'s' if workers > 1 else ''} x {threads} "
                     f"thread{'s' if threads > 1 else ''}", global_batch * args.steps / seconds,
                     f" (whole fit incl. Ray start-up: {total:.1f} s)"))
    print(f"global batch {global_batch}, {args.steps} timed steps after {WARMUP} warm-up steps")
    for label, rate, note in rows:
        print(f"{label:<35}: {rate:7.2f} samples/s, ratio to plain {rate / plain_rate:.2f}{note}")


if __name__ == "__main__":
    main()
