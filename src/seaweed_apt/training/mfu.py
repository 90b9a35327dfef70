"""Model FLOPs utilisation (MFU): the FLOPs a training step does over what the device could do
in that time (Chowdhery et al., 2022, PaLM, appendix B: the model's matrix-product FLOPs,
forward and backward, not counting recomputation).

FLOPs of a step are counted as they run, by `torch.utils.flop_counter.FlopCounterMode` (matrix
products, attention and convolutions, forward and backward), or given by the phase. The peak is
the device's: on CUDA the datasheet's dense bf16 figure of the card (measured where the card is
not in `DATASHEET_BF16_FLOPS`); on CPU the best of five fp32 `torch.mm` of 1024x1024 on the
worker's threads, measured where the worker runs (a CPU has no datasheet figure that holds for a
shared, throttled core).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import torch
from torch.utils.flop_counter import FlopCounterMode

Result = TypeVar("Result")

# Dense bf16 tensor-core peak per card (NVIDIA datasheets; SXM where a card has two forms).
DATASHEET_BF16_FLOPS = {
    "H200": 989e12,
    "H100": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "L4": 121e12,
    "A10": 125e12,
}


CPU_PEAK_SIZE = 1024


def measured_matmul_flops(device: torch.device, dtype: torch.dtype, size: int = 2048,
                          repeats: int = 5) -> float:
    """FLOP/s of the best of `repeats` (`size` x `size`) @ (`size` x `size`) products on
    `device` in `dtype`, after one untimed product."""
    # Its own generator: the global one is the training's, and a draw here would move it.
    rng = torch.Generator(device).manual_seed(0)
    a = torch.randn(size, size, device=device, generator=rng).to(dtype)
    b = torch.randn(size, size, device=device, generator=rng).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def device_peak_flops(device: torch.device) -> tuple[float, str]:
    """(FLOP/s, where the figure comes from) of `device`: see the module's docstring."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for card, flops in DATASHEET_BF16_FLOPS.items():
            if card in name:
                return flops, f"datasheet dense bf16 of {card} ({name})"
        return (measured_matmul_flops(device, torch.bfloat16),
                f"measured bf16 torch.mm on {name} (not in the datasheet table)")
    threads = torch.get_num_threads()
    # 1024: the same peak as 2048 on one thread here (7.41e10 and 7.39e10 FLOP/s) in 0.19 s
    # of every worker's start instead of 1.4-1.7 s (docs/benchmarks.md, "The CPU peak").
    return (measured_matmul_flops(device, torch.float32, size=CPU_PEAK_SIZE),
            f"measured fp32 torch.mm {CPU_PEAK_SIZE}x{CPU_PEAK_SIZE} on {threads} CPU thread(s)")


def counted_flops(work: Callable[[], Result]) -> tuple[Result, int]:
    """`work()`'s result and the FLOPs it did (matrix products, attention, convolutions;
    forward and backward), counted by FlopCounterMode. The numerics are those of a plain call:
    the mode only counts."""
    with FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION) as counter:
        result = work()
    return result, counter.get_total_flops()


def _cpu_attention_formulas() -> dict:
    """FlopCounterMode's attention formulas for the CPU kernels of scaled_dot_product_attention,
    which torch's registry leaves out (it names the CUDA kernels only): without them a CPU step
    counted 120.6M FLOPs where its attention alone adds about a fifth."""
    from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count

    def forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    aten = torch.ops.aten
    pairs = {"_scaled_dot_product_flash_attention_for_cpu": forward,
             "_scaled_dot_product_flash_attention_for_cpu_backward": backward}
    return {getattr(aten, name): formula for name, formula in pairs.items()
            if hasattr(aten, name)}


_CPU_ATTENTION = _cpu_attention_formulas()
