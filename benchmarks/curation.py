"""Decode + resize throughput of curation, as a multiple of real time, on the real clips; and the
whole probe + decode/cut of a raw folder on Ray tasks against the thread pool.

Measures, in one run and side by side: each real clip decoded to the curation fps and size, one
file at a time, and all of them through the curation thread pool (one ffmpeg per core).

    python benchmarks/curation.py [--fps 8 --size 64 --repeats 3]

With `--raw-root data/01_raw` (a fetched default data set): probe + decode/cut of every source
set under it as the pipeline does it (conf/base's curation), by the thread pool of
`curation.cut_clips` and by the Ray tasks of `curation_on_ray` (1 and 2 tasks at a time, through
`cpus_per_worker`), in interleaved rounds; Ray's start-up is timed apart and added to the Ray
arms' figures. Rows are checked equal across arms.

    python benchmarks/curation.py --raw-root data/01_raw [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from seaweed_apt.data.real_clips import fetch_real_clips
from seaweed_apt.data.video_io import decode_video, probe_video


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fps", type=float, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", default="~/.cache/seaweed-apt/packages")
    parser.add_argument("--raw-root", help="compare Ray tasks with the thread pool on this folder")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.raw_root:
        compare_with_ray(Path(args.raw_root), args.rounds)
        return

    folder = Path(tempfile.mkdtemp()) / "real_clips"
    fetch_real_clips(folder, args.cache)
    files = sorted(p for p in folder.iterdir() if p.suffix in {".mp4", ".mpg", ".mov"})
    durations = {f: probe_video(f).duration_s for f in files}

    def decode(path: Path) -> int:
        frames, _ = decode_video(path, args.fps, args.size, args.size)
        return len(frames)

    print(f"cores: {os.cpu_count()}  target: {args.fps:g} fps, {args.size}x{args.size}  "
          f"repeats: {args.repeats} (best of)")
    print(f"{'file':24s} {'codec':11s} {'source':>10s} {'video s':>8s} {'decode s':>9s} "
          f"{'x real time':>11s}")
    serial_total = 0.0
    for path in files:
        best = min(_timed(decode, path) for _ in range(args.repeats))
        serial_total += best
        probe = probe_video(path)
        print(f"{path.name:24s} {probe.codec:11s} {probe.width:>4d}x{probe.height:<5d} "
              f"{durations[path]:8.2f} {best:9.3f} {durations[path] / best:11.1f}")
    video_seconds = sum(durations.values())
    parallel = min(_timed(_decode_all, files, decode) for _ in range(args.repeats))
    print(f"\nall {len(files)} clips, {video_seconds:.1f} s of video:")
    serial_rate, parallel_rate = video_seconds / serial_total, video_seconds / parallel
    print(f"  one at a time     {serial_total:7.2f} s  = {serial_rate:6.1f}x real time")
    print(f"  thread pool ({os.cpu_count()})   {parallel:7.2f} s  = {parallel_rate:6.1f}x real time"
          f"  (speed-up {serial_total / parallel:.2f}x)")


def compare_with_ray(raw_root: Path, rounds: int) -> None:
    """Thread pool against Ray tasks on every source set under `raw_root`, interleaved."""
    import pandas as pd
    import ray

    from seaweed_apt.config.curation import CurationConfig
    from seaweed_apt.config.loading import load_config
    from seaweed_apt.config.ray import RayConfig
    from seaweed_apt.data.curation import cut_clips, probe_videos
    from seaweed_apt.data.curation_on_ray import cut_clips_on_ray, probe_videos_on_ray
    from seaweed_apt.data.raw_index import index_video_folder
    from seaweed_apt.ray_runtime import ensure_ray

    conf = Path(__file__).resolve().parents[1] / "conf"
    config = load_config(CurationConfig, conf, "base", "parameters_data_curation.yml",
                         "curation")
    base_ray = load_config(RayConfig, conf, "base", "parameters.yml", "ray")
    index = pd.concat([index_video_folder(folder, folder.name)
                       for folder in sorted(raw_root.iterdir()) if folder.is_dir()
                       and not folder.name.startswith(".")], ignore_index=True)
    start = time.perf_counter()
    ensure_ray(base_ray)
    startup = time.perf_counter() - start
    print(f"{len(index)} files; Ray start-up {startup:.1f} s (added to the Ray arms)")
    candidates = Path(tempfile.mkdtemp()) / "candidates"

    def threads() -> pd.DataFrame:
        return cut_clips(index, probe_videos(index, config.num_workers), config).clips

    def on_ray(cpus: float) -> pd.DataFrame:
        ray_config = base_ray.model_copy(update={"cpus_per_worker": cpus})
        probes = probe_videos_on_ray(index, ray_config, config.files_per_task)
        clips, _ = cut_clips_on_ray(index, probes, config, ray_config, str(candidates),
                                    config.files_per_task)
        return clips

    arms = {"thread pool": threads, "Ray, 2 tasks at a time": lambda: on_ray(1.0),
            "Ray, 1 task at a time": lambda: on_ray(2.0)}
    seconds = {name: [] for name in arms}
    rows = {}
    for _ in range(rounds):
        for name, arm in arms.items():
            begin = time.perf_counter()
            rows[name] = arm()
            seconds[name].append(time.perf_counter() - begin)
    reference = rows["thread pool"]
    for name, clips in rows.items():
        same = clips[reference.columns].reset_index(drop=True).equals(reference)
        print(f"{name:24s} {' '.join(f'{t:6.1f}' for t in seconds[name])} s  "
              f"rows equal to the thread pool's: {same}")
    best_threads = min(seconds["thread pool"])
    for name in list(arms)[1:]:
        best = min(seconds[name]) + startup
        print(f"{name}: thread pool / Ray (start-up included) = {best_threads / best:.2f}x")
    ray.shutdown()


def _decode_all(files, decode) -> None:
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(decode, files))


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
