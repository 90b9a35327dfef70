"""One prepared GPU check: bf16 training steps and `generate_videos` at a GPU preset.

    python benchmarks/gpu_check.py --preset gpu-base --batch 16 --size 64   # on a CUDA host
    python benchmarks/gpu_check.py --preset tiny --device cpu --size 32     # smoke test anywhere

Prints the card, parameter count, training samples/s and peak memory, and seconds per video for
1-step and 25-step (CFG) generation, for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time

import torch

from seaweed_apt.diffusion.flow import RectifiedFlowLoss, TextBatch, TimestepSampler
from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.models.dit import VideoDiT, build_config, describe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="gpu-base")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
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
    for step in range(args.steps + 2):
        if step == 2:
            if device.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
        with autocast:
            value = loss(model, x0, text, torch.Generator().manual_seed(step))["loss"]
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    rate = args.batch * args.steps / seconds
    precision = "bf16 autocast" if device.type == "cuda" else "fp32"
    print(f"train ({precision}): {rate:.1f} samples/s, loss {value.item():.4f}, "
          f"peak memory {peak:.1f} GiB")

    seeds = list(range(args.batch))
    for steps, cfg in ((1, 1.0), (25, 5.0)):
        generate_videos(model, text, seeds[:2], 1, 1.0, args.frames, args.size, args.size)  # warm
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
