"""Where tensors run: the one device choice and the one bf16 autocast rule of the library."""

from __future__ import annotations

import torch


def default_device() -> torch.device:
    """CUDA when this process sees a GPU, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def bf16_autocast(device: torch.device, on_cpu: bool = False) -> torch.autocast:
    """bf16 autocast on CUDA; on the CPU only when `on_cpu` (`ray.cpu_bf16_autocast`, off by
    default: slower at the CPU default's width, docs/benchmarks.md, "bf16 autocast on the CPU")."""
    return torch.autocast(device.type, dtype=torch.bfloat16,
                          enabled=device.type == "cuda" or on_cpu)
