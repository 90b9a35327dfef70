"""Speed of the one-step generator against its teacher, measured side by side in one run.

    python benchmarks/one_step_vs_teacher.py [--videos 16 --repeats 3 --models data/06_models]

Every system makes the same batch of videos through `generate_videos` (what the endpoint serves);
each is timed `repeats` times after one untimed warm-up and the median is printed, with network
evaluations per video and the speed-up over the teacher at 25 steps with CFG. The physical limit
for the same network is NFE(teacher) / NFE(APT) = 50x; the rest is per-call overhead.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from seaweed_apt.diffusion.flow import TextBatch
from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.training.checkpoint import load_model


def time_system(model, text, seeds, steps, cfg, one_step, geometry, repeats) -> float:
    frames, height, width = geometry
    run = lambda: generate_videos(model, text, seeds, steps, cfg, frames, height, width,  # noqa: E731
                                  one_step_generator=one_step, batch_size=len(seeds))
    run()  # warm-up: allocator, thread pool
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / len(seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="data/06_models")
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cfg", type=float, default=5.0)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(args.models)
    apt_dir = root / "apt_best" if (root / "apt_best").exists() else max((root / "apt").iterdir())
    models = {"teacher": load_model(root / "teacher"), "distilled": load_model(root / "distilled"),
              "apt": load_model(apt_dir)}
    rng = torch.Generator().manual_seed(0)
    n = args.videos
    text = TextBatch(torch.randn(n, 24, 384, generator=rng), torch.ones(n, 24, dtype=torch.bool),
                     torch.randn(n, 384, generator=rng))
    seeds = list(range(n))
    geometry = (args.frames, args.size, args.size)
    systems = [(f"teacher_{s}step_cfg", "teacher", s, args.cfg, False) for s in (25, 8, 4, 1)]
    systems += [("distilled_1step", "distilled", 1, 1.0, True), ("apt_1step", "apt", 1, 1.0, True),
                ("apt_2step", "apt", 2, 1.0, True)]
    print(f"{n} videos of {args.frames}x{args.size}x{args.size}, {args.threads} threads, "
          f"median of {args.repeats}; APT checkpoint {apt_dir}")
    print(f"{'system':<22}{'NFE/video':>10}{'s/video':>12}{'vs teacher-25':>15}")
    reference = None
    for name, key, steps, cfg, one_step in systems:
        seconds = time_system(models[key], text, seeds, steps, cfg, one_step, geometry,
                              args.repeats)
        nfe = steps * (2 if cfg != 1.0 else 1)
        reference = reference or seconds
        print(f"{name:<22}{nfe:>10}{seconds:>12.4f}{reference / seconds:>14.1f}x")


if __name__ == "__main__":
    main()
