"""Where a training loop runs: a Ray Train worker (the pipelines) or one local process (recipe
trials in `benchmarks/`). Both give the loop the same five things: rank, device, the latest
checkpoint to resume from, DDP preparation of a network, and reporting with checkpoints."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from seaweed_apt.device import bf16_autocast, default_device

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Worker:
    """One process of a training run. Subclasses say where checkpoints come from and go to."""

    rank: int
    world_size: int
    device: torch.device
    node: str = "local"  # the Ray node it runs on
    cpu_bf16_autocast: bool = False  # `ray.cpu_bf16_autocast`

    @property
    def autocast(self):
        """bf16 autocast on CUDA; on the CPU only with `cpu_bf16_autocast` (slower at the CPU
        default's width: docs/benchmarks.md, "bf16 autocast on the CPU")."""
        return bf16_autocast(self.device, on_cpu=self.cpu_bf16_autocast)

    def resume(self, restore: Callable[[str], dict], default: dict) -> dict:
        """The trainer state restored from the latest checkpoint (after a restart or a rerun),
        else `default`. Records every step it resumed from in state["resumed_from"]."""
        state = self.restore_latest(restore)
        if state is None:
            return default
        state.setdefault("resumed_from", []).append(state["step"])
        logger.info("rank %d resumed at step %d", self.rank, state["step"])
        return state

    def restore_latest(self, restore: Callable[[str], dict]) -> dict | None:
        """`restore(folder)` on the latest checkpoint; None when there is none."""
        raise NotImplementedError

    def prepare(self, network: nn.Module) -> nn.Module:
        raise NotImplementedError

    def report(self, metrics: dict, write_checkpoint: Callable[[Path], Path]) -> None:
        """A checkpoint with the window's metrics; called at checkpoint steps and at the end."""
        raise NotImplementedError

    def nodes(self) -> list[str]:
        """The node of every rank, in rank order (a collective: every rank calls it)."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return [self.node]
        nodes = [None] * self.world_size
        torch.distributed.all_gather_object(nodes, self.node)
        return nodes

    def any_rank(self, flag: bool) -> bool:
        """True on every rank when `flag` is true on at least one."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return flag
        value = torch.tensor([float(flag)])
        torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
        return bool(value.item() > 0)


class RayTrainWorker(Worker):
    """Ray Train's contract (Ray docs): `prepare_model` (DDP), resume from `get_checkpoint()`,
    rank 0 writes checkpoints, every rank reports."""

    @classmethod
    def start(cls, threads: int, cpu_bf16_autocast: bool = False) -> RayTrainWorker:
        import ray
        import ray.train
        import ray.train.torch

        torch.set_num_threads(threads)
        context = ray.train.get_context()
        return cls(context.get_world_rank(), context.get_world_size(),
                   ray.train.torch.get_device(), ray.get_runtime_context().get_node_id(),
                   cpu_bf16_autocast)

    def restore_latest(self, restore: Callable[[str], dict]) -> dict | None:
        import ray.train

        checkpoint = ray.train.get_checkpoint()
        if not checkpoint:
            return None
        with checkpoint.as_directory() as folder:  # fetched from s3:// storage where needed
            return restore(folder)

    def prepare(self, network: nn.Module) -> nn.Module:
        import ray.train.torch

        return ray.train.torch.prepare_model(network)

    def report(self, metrics: dict, write_checkpoint: Callable[[Path], Path]) -> None:
        """Every rank reports (a barrier in Ray Train); rank 0 writes the checkpoint into a
        scratch folder that Ray then persists to the run's storage."""
        import ray.train

        with tempfile.TemporaryDirectory() as scratch:
            folder = write_checkpoint(Path(scratch) / "checkpoint") if self.rank == 0 else None
            checkpoint = ray.train.Checkpoint.from_directory(folder) if folder else None
            ray.train.report(metrics, checkpoint=checkpoint)


@dataclass(frozen=True)
class LocalWorker(Worker):
    """A single process without Ray: checkpoints are `folder/step-NNNNN`, reports are logged."""

    folder: Path = Path(".")

    @classmethod
    def start(cls, folder: str | Path, threads: int, cpu_bf16_autocast: bool = False
              ) -> LocalWorker:
        torch.set_num_threads(threads)
        return cls(0, 1, default_device(), cpu_bf16_autocast=cpu_bf16_autocast, folder=Path(folder))

    def restore_latest(self, restore: Callable[[str], dict]) -> dict | None:
        steps = {json.loads(path.read_text())["step"]: path.parent
                 for path in self.folder.glob("step-*/trainer_state.json")}
        return restore(str(steps[max(steps)])) if steps else None

    def prepare(self, network: nn.Module) -> nn.Module:
        return network.to(self.device)

    def report(self, metrics: dict, write_checkpoint: Callable[[Path], Path]) -> None:
        logger.info("%s", {k: round(v, 5) if isinstance(v, float) else v
                           for k, v in metrics.items()})
        write_checkpoint(self.folder / f"step-{metrics['step']:05d}")


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


def progress_bar(total: int, initial: int, description: str, rank: int):
    """Rank 0's progress bar: a live bar in a terminal, a line every 30 s inside Ray workers."""
    interactive = sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=description, unit="step",
                disable=rank != 0, file=None if interactive else _LineStream(),
                mininterval=0.5 if interactive else 30.0)
