"""Drawing the teacher pairs: one process with all threads (the old `draw_teacher_pairs` node)
against `make_teacher_pairs`'s Ray tasks (`ray.num_workers` x `threads_per_worker`), the same
pairs, in interleaved rounds of one run.

    python benchmarks/teacher_pairs_tasks.py --data data [--pairs 256 --steps 12 --rounds 2]

`--data` is a data root after `posttrain`'s inputs exist (a teacher, the clip manifest, the
caption table). Prints pairs per second of each and their ratio per round.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from data_root import curated_clips

from seaweed_apt.apt.posttrain import make_teacher_pairs
from seaweed_apt.apt.teacher_pairs import draw_teacher_pairs
from seaweed_apt.config.loading import load_config
from seaweed_apt.config.posttrain import DistillConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.ray_runtime import ensure_ray
from seaweed_apt.text.caption_table import load_caption_table
from seaweed_apt.training.checkpoint import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    conf = Path(__file__).resolve().parents[1] / "conf"
    distill = load_config(DistillConfig, conf, "base", "parameters_posttrain.yml",
                          "posttrain.distill", regression_pairs=args.pairs,
                          regression_teacher_steps=args.steps)
    ray_config = load_config(RayConfig, conf, "base", "parameters.yml", "ray")
    clips = curated_clips(args.data)
    manifest = clips.manifest
    teacher_dir = args.data / "06_models" / "teacher"
    teacher = load_model(teacher_dir).requires_grad_(False)
    captions = load_caption_table(clips.caption_table_uri)
    rows = manifest.loc[manifest["split"] == "train", "caption_row"].to_numpy(np.int64)
    ensure_ray(ray_config)
    print(f"{args.pairs} pairs of {args.steps} steps; this process: {torch.get_num_threads()} "
          f"threads; Ray: {ray_config.num_workers} tasks x {ray_config.threads_per_worker} "
          "thread(s)")
    for round_ in range(args.rounds):
        began = time.perf_counter()
        draw_teacher_pairs(teacher, captions, rows, clips.clip_shape, args.pairs,
                           args.steps, distill.cfg_scale, distill.seed)
        in_process = args.pairs / (time.perf_counter() - began)
        began = time.perf_counter()
        make_teacher_pairs(clips, str(teacher_dir), distill, ray_config)
        on_ray = args.pairs / (time.perf_counter() - began)
        print(f"round {round_ + 1}: one process {in_process:.2f} pairs/s, Ray tasks "
              f"{on_ray:.2f} pairs/s, ratio {on_ray / in_process:.2f}", flush=True)


if __name__ == "__main__":
    main()
