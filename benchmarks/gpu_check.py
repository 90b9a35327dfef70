"""One prepared GPU check: bf16 training steps and `generate_videos` at a GPU preset.

    python benchmarks/gpu_check.py --preset gpu-base --batch 16 --size 64   # on a CUDA host
    python benchmarks/gpu_check.py --preset tiny --device cpu --size 32     # smoke test anywhere
    ... [--compile]   the network through torch.compile (eager, with a warning, if it fails)

Prints the card, parameter count, training samples/s, MFU (the step's FLOPs counted by
FlopCounterMode against the card's datasheet dense bf16 peak, `training/mfu.py`; on CPU the
measured fp32 peak) and peak memory, and seconds per video for 1-step and 25-step (CFG)
generation, for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time

import torch

from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TimestepSampler
from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.models.dit import VideoDiT, build_config, describe
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.training.mfu import counted_flops, device_peak_flops


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="gpu-base")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", action="store_true", help="torch.compile the network")
    args = parser.parse_args()
    device = torch.device(args.device)
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    config = build_config(args.preset)
    size = describe(config, args.frames, args.size, args.size)
    print(f"device: {card}; model {args.preset}: {size}")

    torch.manual_seed(0)
    model = VideoDiT(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss = RectifiedFlowLoss(TimestepSampler())
    x0 = torch.rand(args.batch, 3, args.frames, args.size, args.size, device=device) * 2 - 1
    text = TextBatch(torch.randn(args.batch, 24, 384),
                     torch.ones(args.batch, 24, dtype=torch.bool),
                     torch.randn(args.batch, 384)).to(device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    network = model
    if args.compile:
        network = torch.compile(model)

    def train_step(step: int) -> torch.Tensor:
        with autocast:
            value = loss(network, x0, text, torch.Generator().manual_seed(step))["loss"]
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        return value

    try:
        train_step(0)  # compiles, where --compile
    except Exception as error:  # an unsupported operator, an old compiler: eager, said once
        if not args.compile:
            raise
        print(f"WARNING: torch.compile failed ({type(error).__name__}: "
              f"{str(error).splitlines()[0][:200]}); running eager")
        network = model
        train_step(0)
    flops = counted_flops(lambda: train_step(1))[1]  # a step's FLOPs, forward and backward
    peak_flops, peak_source = device_peak_flops(device)
    for step in range(2, args.steps + 2):
        if step == 2:
            if device.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
        value = train_step(step)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    rate = args.batch * args.steps / seconds
    precision = "bf16 autocast" if device.type == "cuda" else "fp32"
    mfu = flops * args.steps / seconds / peak_flops
    compiled = "compiled" if network is not model else "eager"
    print(f"train ({precision}, {compiled}): {rate:.1f} samples/s, loss {value.item():.4f}, "
          f"{flops / 1e9:.1f} GFLOP per step, MFU {mfu:.1%} of {peak_flops / 1e12:.3g} "
          f"TFLOP/s ({peak_source}), peak memory {peak:.1f} GiB")

    seeds = list(range(args.batch))
    for steps, cfg in ((1, 1.0), (25, 5.0)):
        generate_videos(model, text, seeds, 1, 1.0, args.frames, args.size, args.size)  # warm
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        generate_videos(model, text, seeds, steps, cfg, args.frames, args.size, args.size)
        if device.type == "cuda":
            torch.cuda.synchronize()
        per_video = (time.perf_counter() - start) / len(seeds)
        print(f"generate_videos {steps} step(s), cfg {cfg}: {per_video * 1000:.1f} ms per video "
              f"(batch {len(seeds)})")


if __name__ == "__main__":
    main()
