"""Wall time of a short piece of work, robust to the scheduler's noise."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")


def timed_passes(work: Callable[[], Result], min_total_s: float, max_passes: int = 20
                 ) -> tuple[Result, float]:
    """`work()`'s result and its median wall seconds per pass. One pass when it lasts at least
    `min_total_s`; else passes repeat (at least 3) until they add up to it, because a one-step
    generator's pass lasts about a second, where a stray pause of the machine can triple it."""
    start = time.perf_counter()
    result = work()
    passes = [time.perf_counter() - start]
    while passes[0] < min_total_s and len(passes) < max_passes and (
            sum(passes) < min_total_s or len(passes) < 3):
        start = time.perf_counter()
        work()
        passes.append(time.perf_counter() - start)
    return result, statistics.median(passes)
