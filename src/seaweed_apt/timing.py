"""Wall time of a short piece of work, robust to the scheduler's noise."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
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


def interleaved_rounds(works: Mapping[str, Callable[[], object]], rounds: int
                       ) -> dict[str, list[float]]:
    """Wall seconds of each work's pass in each of `rounds` rounds, name -> one per round.

    Each work runs once untimed first (allocator, thread pool), then the rounds run every work
    in turn, one pass each: a slow spell of the machine falls on all of them alike, so ratios
    taken within a round are fair where two passes timed minutes apart are not.

    Raises:
        ValueError: `rounds` < 1.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    for work in works.values():
        work()
    seconds: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(rounds):
        for name, work in works.items():
            start = time.perf_counter()
            work()
            seconds[name].append(time.perf_counter() - start)
    return seconds
