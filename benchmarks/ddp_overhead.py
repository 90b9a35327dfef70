"""Where a training step's time goes beyond its arithmetic: the same `cpu-small` step (x0 output,
output conv, AdamW, one thread per process) in one process alone, and in TorchTrainer's 2 workers
x 1 thread with DDP (the pipeline's topology), with DDP writing gradients into its buckets and
one bucket ("ddp-view": `gradient_as_bucket_view`, `bucket_cap_mb` 100), or without DDP (each
worker its own model: no gradient all-reduce, no lock-step), and the one-worker alternative (one
process, 2 intra-op threads, both workers' batch), in interleaved rounds of one run.

    python benchmarks/ddp_overhead.py [--batch 4 --steps 150 --rounds 2]

Seconds per step count only the loop after warm-up steps, not Ray's start-up. "alone" runs while
nothing else does, so it is what one worker's step would cost with a core to itself.
"""

from __future__ import annotations

import argparse
import time

import torch
from ray_report_overhead import fit_on_two_workers, start_local_ray
from train_throughput import synthetic_batch

from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TimestepSampler
from seaweed_apt.models.dit import VideoDiT, build_config

WARMUP = 5


def timed_loop(model: torch.nn.Module, batch: int, steps: int, seed: int) -> float:
    """Seconds per optimiser step after WARMUP untimed ones."""
    x0, text = synthetic_batch(batch, 8, 32, seed)
    loss = RectifiedFlowLoss(TimestepSampler())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for step in range(WARMUP + steps):
        if step == WARMUP:
            start = time.perf_counter()
        optimizer.zero_grad()
        loss(model, x0, text, torch.Generator().manual_seed(step))["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return (time.perf_counter() - start) / steps


def new_model() -> VideoDiT:
    torch.manual_seed(0)
    return VideoDiT(build_config("cpu-small", {"prediction": "x0", "output_conv": True}))


def ray_loop(config: dict) -> None:
    import ray.train
    import ray.train.torch

    torch.set_num_threads(1)
    model = new_model()
    if config["ddp"]:
        kwargs = {"gradient_as_bucket_view": True, "bucket_cap_mb": 100} \
            if config["ddp"] == "ddp-view" else {}
        model = ray.train.torch.prepare_model(model, parallel_strategy_kwargs=kwargs)
    rank = ray.train.get_context().get_world_rank()
    seconds = timed_loop(model, config["batch"], config["steps"], rank)
    print(f"RESULT {config['ddp'] or 'no-ddp'} rank={rank} "
          f"seconds_per_step={seconds:.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import ray

    start_local_ray()
    torch.set_num_threads(1)
    for round_ in range(args.rounds):
        print(f"RESULT alone round={round_ + 1} seconds_per_step="
              f"{timed_loop(new_model(), args.batch, args.steps, 0):.4f}", flush=True)
        # The one-worker alternative to DDP on 2 cores: one process, both cores as intra-op
        # threads, the optimiser step's whole batch (both workers' share).
        torch.set_num_threads(2)
        print(f"RESULT one-process-2-threads round={round_ + 1} batch={2 * args.batch} "
              f"seconds_per_step={timed_loop(new_model(), 2 * args.batch, args.steps, 0):.4f}",
              flush=True)
        torch.set_num_threads(1)
        for ddp in ("ddp", "ddp-view", ""):
            fit_on_two_workers(ray_loop, {"ddp": ddp, "steps": args.steps,
                                          "batch": args.batch}, "/tmp/ddp_overhead")
    ray.shutdown()


if __name__ == "__main__":
    main()
