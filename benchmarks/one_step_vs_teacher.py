"""Speed of the one-step generator against its teacher, measured side by side in one run.

    python benchmarks/one_step_vs_teacher.py [--videos 16 --repeats 5 --models data/06_models]

Every system makes the same batch of videos through `generate_videos` (what the endpoint serves).
After one untimed warm-up of each, the systems are timed in turn, `repeats` rounds of one pass
each (interleaved, so a slow spell of the machine falls on all of them alike); printed: the
median over rounds and its range, network evaluations per video, and the speed-up over the
teacher at 25 steps with CFG, with the range of the per-round ratios. The physical limit for the
same network is NFE(teacher) / NFE(APT) = 50x; the rest is per-call overhead.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.timing import interleaved_rounds
from seaweed_apt.training.checkpoint import load_model


def videos_of(model, text, seeds, steps, cfg, one_step, geometry):
    """One pass of a system: a callable making the batch."""
    frames, height, width = geometry
    return lambda: generate_videos(model, text, seeds, steps, cfg, frames, height, width,
                                   one_step_generator=one_step, batch_size=len(seeds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="data/06_models")
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
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
          f"median of {args.repeats} interleaved rounds; APT checkpoint {apt_dir}")
    print(f"{'system':<22}{'NFE/video':>10}{'s/video (range)':>27}{'vs teacher-25 (range)':>24}")
    runs = {name: videos_of(models[key], text, seeds, steps, cfg, one_step, geometry)
            for name, key, steps, cfg, one_step in systems}
    per_pass = interleaved_rounds(runs, args.repeats)
    reference = systems[0][0]
    for name, _, steps, cfg, _ in systems:
        seconds = [s / n for s in per_pass[name]]
        ratios = [t / s for t, s in zip(per_pass[reference], per_pass[name], strict=True)]
        nfe = steps * (2 if cfg != 1.0 else 1)
        print(f"{name:<22}{nfe:>10}{statistics.median(seconds):>12.4f}"
              f"  ({min(seconds):.4f}-{max(seconds):.4f})"
              f"{statistics.median(ratios):>8.1f}x ({min(ratios):.1f}-{max(ratios):.1f})")


if __name__ == "__main__":
    main()
