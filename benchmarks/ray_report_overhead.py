"""What a `ray.train.report` per logging window costs: the same TorchTrainer loop (2 workers x 1
thread, DDP over gloo, the `cpu-small` preset, one regression-distillation-sized batch) reporting
every `--every` steps or never, in interleaved rounds of one run.

    python benchmarks/ray_report_overhead.py [--every 10 --steps 300 --batch 4 --rounds 3]

Seconds per step count only the loop inside the workers (after warm-up steps), not Ray's start-up.
Each report is a barrier across the workers; the training loop reports only at checkpoints since
(`seaweed_apt.training.loop`).
"""

from __future__ import annotations

import argparse
import time
import uuid

import torch
from train_throughput import synthetic_batch

from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TimestepSampler
from seaweed_apt.models.dit import VideoDiT, build_config
from seaweed_apt.ray_runtime import LOOPBACK_ENV

WARMUP = 5


def ray_loop(config: dict) -> None:
    import ray.train
    import ray.train.torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = ray.train.torch.prepare_model(VideoDiT(build_config(
        "cpu-small", {"prediction": "x0", "output_conv": True})))
    rank = ray.train.get_context().get_world_rank()
    x0, text = synthetic_batch(config["batch"], 8, 32, rank)
    loss = RectifiedFlowLoss(TimestepSampler())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    in_report = 0.0
    for step in range(WARMUP + config["steps"]):
        if step == WARMUP:
            start = time.perf_counter()
        optimizer.zero_grad()
        loss(model, x0, text, torch.Generator().manual_seed(step))["loss"].backward()
        optimizer.step()
        if step >= WARMUP and (step + 1) % config["every"] == 0:
            began = time.perf_counter()
            ray.train.report({"step": step})
            in_report += time.perf_counter() - began
    if rank == 0:
        every = config["every"] if config["every"] <= WARMUP + config["steps"] else "never"
        print(f"RESULT every={every} seconds_per_step="
              f"{(time.perf_counter() - start) / config['steps']:.4f} "
              f"in_report_per_step={in_report / config['steps']:.4f}", flush=True)


def start_local_ray() -> None:
    """A private 2-CPU Ray on loopback, as the pipeline starts one."""
    import os

    import ray

    for key, value in LOOPBACK_ENV.items():
        os.environ.setdefault(key, value)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=True)


def fit_on_two_workers(loop, config: dict, storage_path: str) -> None:
    """`loop(config)` on TorchTrainer's 2 workers x 1 CPU, a fresh run name each time."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    TorchTrainer(loop, train_loop_config=config,
                 scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 1}),
                 run_config=RunConfig(storage_path=storage_path,
                                      name=uuid.uuid4().hex[:8])).fit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import ray

    start_local_ray()
    never = args.steps + WARMUP + 1
    for round_ in range(args.rounds):
        for every in (args.every, never):
            print(f"round {round_ + 1}/{args.rounds}: report every "
                  f"{every if every != never else 'never'}", flush=True)
            fit_on_two_workers(ray_loop, {"every": every, "steps": args.steps,
                                          "batch": args.batch}, "/tmp/ray_report_overhead")
    ray.shutdown()


if __name__ == "__main__":
    main()
