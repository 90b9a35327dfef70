"""The CPU peak that MFU is measured against (`training.mfu.device_peak_flops`), by the size of
the fp32 `torch.mm` that measures it: 2048 against 1024, interleaved, per thread count.

    python benchmarks/cpu_peak_size.py [--rounds 3] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from seaweed_apt.training.mfu import measured_matmul_flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    for threads in args.threads:
        torch.set_num_threads(threads)
        for size in [2048, 1024] * args.rounds:
            start = time.perf_counter()
            flops = measured_matmul_flops(torch.device("cpu"), torch.float32, size=size)
            print(f"{threads} thread(s), {size}x{size}: {flops / 1e9:.1f} GFLOP/s, measured in "
                  f"{time.perf_counter() - start:.2f} s", flush=True)


if __name__ == "__main__":
    main()
