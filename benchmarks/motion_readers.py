"""Calibrate the evaluation's motion readers on real clips: what a perfect generator scores
(the ceiling) and what broken clips score (the floors).

    python benchmarks/motion_readers.py [--data data] [--threshold T ...]

Reads every labelled real clip of the validation split, the test split's seen compositions and
its held-out ones from DATA's curated shards, and prints, per set and item threshold (default:
conf's `evaluation.motion.item_threshold`), the share read along the captioned axis (as they are,
dimmed to x0.15 and x0.1), the item's speed (px/frame), the jump ratios; then the same clips
shuffled in time and frozen, and uniform noise. No model is involved: it runs in seconds.
"""

from __future__ import annotations

import argparse

import numpy as np
from data_root import curated_clips

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.loading import load_config
from seaweed_apt.evaluation.data import load_split_clips
from seaweed_apt.evaluation.motion import NO_AXIS, read_motion
from seaweed_apt.evaluation.quality import motion_axis_accuracy

TEMPORAL_PATCH = 4  # the CPU presets' (cpu-small, cpu)


def main() -> None:
    config = load_config(EvaluationConfig, "conf", "local", "parameters_evaluation.yml",
                         "evaluation")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data")
    parser.add_argument("--threshold", type=float, nargs="+",
                        default=[config.motion.item_threshold])
    args = parser.parse_args()
    curated = curated_clips(args.data)
    speed = config.motion.min_speed_px
    rng = np.random.default_rng(0)
    print(f"{'set':<22}{'clips':>6}{'thr':>6}{'axis':>7}{'x0.15':>7}{'x0.1':>7}{'px/f':>7}"
          f"{'jump':>7}{'bound.':>7}{'shuffled jump':>15}{'frozen axis':>13}")
    for name, split, seen in (("val", "val", None), ("test, seen", "test", True),
                              ("test, held out", "test", False)):
        clips = load_split_clips(curated, split, compositions_seen=seen)
        for threshold in args.threshold:
            read = read_motion(clips.frames, threshold, speed, TEMPORAL_PATCH)
            dimmed = [motion_axis_accuracy(read_motion(
                (clips.frames * factor).round().astype(np.uint8), threshold, speed,
                TEMPORAL_PATCH).axis, clips.axes) for factor in (0.15, 0.1)]
            shuffled = read_motion(np.stack([v[rng.permutation(len(v))] for v in clips.frames]),
                                   threshold, speed, TEMPORAL_PATCH)
            frozen = read_motion(np.repeat(clips.frames[:, :1], clips.frames.shape[1], axis=1),
                                 threshold, speed, TEMPORAL_PATCH)
            print(f"{name:<22}{len(clips):>6}{threshold:>6.2f}"
                  f"{motion_axis_accuracy(read.axis, clips.axes):>7.3f}{dimmed[0]:>7.3f}"
                  f"{dimmed[1]:>7.3f}{read.speed.mean():>7.2f}{read.jump.mean():>7.3f}"
                  f"{np.nanmean(read.boundary_jump):>7.3f}{shuffled.jump.mean():>15.3f}"
                  f"{motion_axis_accuracy(frozen.axis, clips.axes):>13.3f}")
    noise = rng.integers(0, 256, (200, *clips.frames.shape[1:]), dtype=np.uint8)
    for threshold in args.threshold:
        read = read_motion(noise, threshold, speed, TEMPORAL_PATCH)
        print(f"uniform noise (200 clips), threshold {threshold:.2f}: an axis read on "
              f"{np.mean(read.axis != NO_AXIS):.3f} (each axis by chance)")


if __name__ == "__main__":
    main()
