"""What every training loop does inside a Ray Train worker, in one place: threads, rank, device,
resume, progress lines, and reporting with rank-0 checkpoints."""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ray.train
import ray.train.torch
import torch
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Worker:
    rank: int
    world_size: int
    device: torch.device

    @property
    def autocast(self):
        """bf16 autocast on CUDA; a no-op on the CPU."""
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")


def start_worker(threads: int) -> Worker:
    torch.set_num_threads(threads)
    context = ray.train.get_context()
    return Worker(context.get_world_rank(), context.get_world_size(),
                  ray.train.torch.get_device())


def resume(restore: Callable[[str], dict], default: dict, rank: int) -> dict:
    """The trainer state from Ray's latest checkpoint (after a restart or a rerun), else `default`.
    Records every step it resumed from in state["resumed_from"]."""
    checkpoint = ray.train.get_checkpoint()
    if not checkpoint:
        return default
    with checkpoint.as_directory() as folder:
        state = restore(folder)
    state.setdefault("resumed_from", []).append(state["step"])
    logger.info("rank %d resumed at step %d", rank, state["step"])
    return state


def step_seed(seed: int, rank: int, step: int) -> int:
    """One reproducible random stream per (seed, rank, step): a resumed run draws what the
    uninterrupted run would have drawn."""
    return (seed * 1_000_003 + rank * 10_007 + step) % (2**63)


class _LineStream:
    """tqdm writes '\\r' updates, which Ray forwards to the driver only at a newline: print each
    refresh as a whole line instead."""

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip()
        if text:
            sys.stderr.write(text + "\n")

    def flush(self) -> None:
        sys.stderr.flush()


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is true on at least one."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return flag
    value = torch.tensor([float(flag)])
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return bool(value.item() > 0)


def progress_bar(total: int, initial: int, description: str, rank: int):
    """Rank 0's progress bar: a live bar in a terminal, a line every 30 s inside Ray workers."""
    interactive = sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=description, unit="step",
                disable=rank != 0, file=None if interactive else _LineStream(),
                mininterval=0.5 if interactive else 30.0)


def report(metrics: dict, rank: int, write_checkpoint: Callable[[Path], Path] | None) -> None:
    """Every rank reports (a barrier in Ray Train); with `write_checkpoint`, rank 0 writes the
    checkpoint into a scratch folder that Ray then persists to the run's storage."""
    if write_checkpoint is None:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_checkpoint(Path(scratch) / "checkpoint") if rank == 0 else None
        checkpoint = ray.train.Checkpoint.from_directory(folder) if folder else None
        ray.train.report(metrics, checkpoint=checkpoint)


def inject_fault_once(step: int, fail_at: int | None, rank: int, marker: str) -> None:
    """The test-only fault switch: rank 0 raises at `fail_at`, once per run (a marker file
    remembers it across the restart)."""
    if fail_at != step or rank != 0 or Path(marker).exists():
        return
    Path(marker).touch()
    raise RuntimeError(f"injected worker fault at step {step} (fail_once_at_step)")
