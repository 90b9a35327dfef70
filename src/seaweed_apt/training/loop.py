"""The one training loop: pretraining, distillation and APT all run through `training_loop`, which
does not know which loss it runs (as EDM2's `training_loop`). A phase hands it a `TrainingPhase`:
the networks to train and checkpoint, their optimisers and EMA, and one optimisation step.

The loop owns what every phase shares: resume from the latest checkpoint, DDP preparation, seeds
from (seed, rank, step), the EMA update, logging windows (means, throughput, training seconds),
the non-finite guard, progress, rank-0 checkpoints and the report every rank makes.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

import torch
from torch import nn

from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.training.checkpoint import restore_training, unwrap, write_checkpoint
from seaweed_apt.training.data import ClipSet, load_worker_clips
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.mfu import counted_flops, device_peak_flops
from seaweed_apt.training.tracking import LiveMetrics
from seaweed_apt.training.worker import RayTrainWorker, Worker, progress_bar, step_seed

logger = logging.getLogger(__name__)

@dataclass
class StepResult:
    """What one optimisation step tells the loop."""

    terms: dict[str, float]  # averaged over the logging window (losses, accuracies)
    samples: int  # clips or frames this worker trained on in the step
    latest: dict[str, float] = field(default_factory=dict)  # logged as of the window's last step
    # FLOPs of the step on this worker, where the phase's steps differ (pretraining's image and
    # video steps); None: the loop counts one step and takes it for every step (training.mfu).
    flops: float | None = None


# (networks as the loop prepared them (DDP), this worker's clips, the step's rng, step) -> result
TrainStep = Callable[[dict[str, nn.Module], ClipSet, torch.Generator, int], StepResult]


@dataclass(frozen=True)
class LoopSchedule:
    """How long a phase trains, its random streams' seed, and how often it logs and checkpoints
    (in steps; the last step always logs and checkpoints)."""

    steps: int
    seed: int
    log_every: int
    checkpoint_every: int

    @classmethod
    def of(cls, config, steps: int | None = None) -> LoopSchedule:
        """From a phase config's `steps` (or the `steps` given), `seed`, `log_every` and
        `checkpoint_every`."""
        return cls(config.steps if steps is None else steps, config.seed, config.log_every,
                   config.checkpoint_every)


@dataclass
class TrainingPhase:
    """One phase of training, as built inside a worker. `networks["model"]` is the network the
    phase exports, and `ema` (checkpointed as `ema`) averages it after every step."""

    name: str  # "pretrain", "distill", "apt": the progress bar's and the checkpoint's stage
    schedule: LoopSchedule
    networks: dict[str, nn.Module]  # trained and checkpointed by name; the loop prepares them
    optimizers: dict[str, torch.optim.Optimizer]  # checkpointed as `<name>.pt`
    ema: EMA
    train_step: TrainStep
    saved_config: dict  # config.json of every checkpoint
    progress_keys: tuple[str, ...] = ("loss",)
    # Called with each window's metrics (it may add some); True ends training after this window.
    end_after_window: Callable[[dict, int], bool] | None = None


PhaseInputs = TypeVar("PhaseInputs")


@dataclass(frozen=True)
class LoopConfig(Generic[PhaseInputs]):
    """What every worker of a training stage is given: the phase's own inputs (what its
    `PhaseBuilder` reads: a `PretrainConfig`, an `apt.distill_phase.DistillInputs`, ...), the
    curated clips it trains on (their URIs; each worker reads its share of the training shards),
    the worker's CPU threads and bf16 autocast on CPU, and `live_dir`, where rank 0 logs each
    window through DVCLive (None: no live log). Bound into Ray Train's `train_loop_per_worker`
    (pickled, not JSON), so it may carry tensors (a negative prompt's `TextBatch`)."""

    phase: PhaseInputs
    clips: CuratedClips
    threads_per_worker: int = 1
    cpu_bf16_autocast: bool = False
    live_dir: str | None = None


# (loop config, worker) -> the phase, its networks on the CPU and not yet prepared for DDP
PhaseBuilder = Callable[[LoopConfig, Worker], TrainingPhase]


def optimize(optimizer: torch.optim.Optimizer, loss: torch.Tensor,
             clip_parameters: list[nn.Parameter] | None = None,
             max_grad_norm: float | None = None) -> float | None:
    """zero_grad, backward, optional gradient-norm clipping, step. Returns the gradient norm
    before clipping when clipping."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = None
    if max_grad_norm is not None:
        grad_norm = float(torch.nn.utils.clip_grad_norm_(clip_parameters, max_grad_norm))
    optimizer.step()
    return grad_norm


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def single_loss_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor,
                     parameters: list[nn.Parameter], max_grad_norm: float, lr: float,
                     samples: int) -> StepResult:
    """The step of a phase with one loss and one optimiser (pretraining, distillation): the
    learning rate, backward, clipping and the update; logs the loss, gradient norm and lr."""
    set_learning_rate(optimizer, lr)
    grad_norm = optimize(optimizer, loss, parameters, max_grad_norm)
    return StepResult({"loss": loss.item()}, samples, {"grad_norm": grad_norm, "lr": lr})


def _check_finite(phase: str, metrics: dict, keys, step: int) -> None:
    for key in keys:
        if not math.isfinite(metrics[key]):
            raise FloatingPointError(f"{phase}: {key} is {metrics[key]} at step {step}: "
                                     f"lower the learning rate")


class LoggingWindow:
    """The steps since the last logged window, summed: each term's mean over the steps that
    have it (a term a step leaves out, no wrong caption in its batch say, is averaged over the
    others), the last step's `latest` figures, samples per second and, where every step's FLOPs
    are known, FLOP/s and MFU against `peak_flops` (FLOP/s)."""

    def __init__(self, peak_flops: float) -> None:
        self.peak_flops = peak_flops
        self.begin()

    def begin(self) -> None:
        """Start an empty window now."""
        self.sums, self.counts, self.latest = defaultdict(float), defaultdict(int), {}
        self.samples, self.flops, self.flops_known = 0.0, 0.0, True
        self.started = time.perf_counter()

    def add(self, result: StepResult, flops: float | None) -> None:
        """One step's result and FLOPs (None: unknown)."""
        for key, value in result.terms.items():
            self.sums[key] += value
            self.counts[key] += 1
        self.samples += result.samples
        self.latest = result.latest
        self.flops += flops or 0.0
        self.flops_known &= flops is not None

    def close(self, step: int, rank: int) -> tuple[dict, float, list[str]]:
        """The window's metrics as logged at `step` by `rank`, its seconds, and its terms."""
        elapsed = time.perf_counter() - self.started
        metrics = {"step": step, **{key: value / self.counts[key]
                                    for key, value in self.sums.items()},
                   **self.latest, "samples_per_s": self.samples / elapsed, "rank": rank}
        if self.flops_known:
            metrics |= {"flop_per_s": self.flops / elapsed,
                        "mfu": self.flops / elapsed / self.peak_flops}
        return metrics, elapsed, list(self.sums)


def count_step_flops(build_phase: PhaseBuilder, loop_config: LoopConfig, worker: Worker,
                     clips: ClipSet) -> int:
    """FLOPs of one optimisation step of the phase on this worker (training.mfu), counted on a
    throwaway copy of the phase at its step 1 (step 0 may do one-off work: APT's discriminator
    warm-up). A copy, because counting changes a step's numerics in the last bits (seen: a run
    resumed from its checkpoint no longer ended on the uninterrupted run's weights when one of
    its own steps was counted); the global random state is put back, so the run is the run it
    would be without the count."""
    saved = torch.get_rng_state()
    saved_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        probe = build_phase(loop_config, worker)
        networks = {name: network.to(worker.device) for name, network in probe.networks.items()}
        rng = torch.Generator().manual_seed(step_seed(probe.schedule.seed, worker.rank, 1))
        return counted_flops(partial(probe.train_step, networks, clips, rng, 1))[1]
    finally:
        torch.set_rng_state(saved)
        if saved_cuda is not None:
            torch.cuda.set_rng_state_all(saved_cuda)


def training_loop(build_phase: PhaseBuilder, loop_config: LoopConfig,
                  worker: Worker) -> dict | None:
    """Train the phase `build_phase` builds from `loop_config` until its last step (or until it
    asks to end), on this worker's share of the training clips. Returns, on rank 0, the steps
    done and the steps it resumed from.

    One function on purpose, as EDM2's `training_loop`: its order (resume before DDP wraps the
    networks, the EMA after each step, the window logged before the report that is Ray's
    barrier) is what every phase relies on, and reads in one place.
    """
    clips = load_worker_clips(loop_config.clips, worker.rank, worker.world_size)
    flops_per_step = count_step_flops(build_phase, loop_config, worker, clips)
    phase = build_phase(loop_config, worker)
    checkpointed = {**phase.networks, "ema": phase.ema.model}

    def restore(folder: str) -> dict:
        return restore_training(folder, checkpointed, phase.optimizers)

    state = worker.resume(restore, {"step": 0, "history": []})
    state["worker_nodes"] = worker.nodes()  # this attempt's placement, in rank order
    live = None
    if worker.rank == 0 and loop_config.live_dir:
        live = LiveMetrics(loop_config.live_dir, history=state["history"])
    phase.ema.model.to(worker.device)
    networks = {name: worker.prepare(network) for name, network in phase.networks.items()}

    def save(folder: Path) -> Path:  # preparing for DDP wraps the same modules, on their device
        return write_checkpoint(folder, checkpointed, phase.optimizers, state,
                                phase.saved_config)

    schedule = phase.schedule
    peak_flops, peak_source = device_peak_flops(worker.device)
    if worker.rank == 0:
        logger.info("%s: MFU against %.3g FLOP/s (%s)", phase.name, peak_flops, peak_source)
    progress = progress_bar(schedule.steps, state["step"], phase.name, worker.rank)
    window = LoggingWindow(peak_flops)
    while state["step"] < schedule.steps:
        step = state["step"]
        rng = torch.Generator().manual_seed(step_seed(schedule.seed, worker.rank, step))
        result = phase.train_step(networks, clips, rng, step)
        window.add(result, result.flops if result.flops is not None else flops_per_step)
        phase.ema.update(unwrap(networks["model"]), step)
        state["step"] = step = step + 1
        progress.update(1)

        at_checkpoint = step % schedule.checkpoint_every == 0 or step == schedule.steps
        if step % schedule.log_every and not at_checkpoint:
            continue
        metrics, elapsed, terms = window.close(step, worker.rank)
        state["train_seconds"] = state.get("train_seconds", 0.0) + elapsed
        _check_finite(phase.name, metrics, terms, step)
        end_now = bool(phase.end_after_window and phase.end_after_window(metrics, step))
        progress.set_postfix({key: f"{metrics[key]:.4f}" for key in phase.progress_keys},
                             refresh=False)
        state["history"].append(metrics)
        if live:
            live.log(metrics)
        window.begin()  # the logging above is no window's time
        # Ray hears of a window only with a checkpoint: each report is a barrier across the
        # workers (every 10 steps it made a distillation-sized step 1.12-1.34x slower, a
        # pretraining-sized one no slower; docs/benchmarks.md, "A report to Ray Train per
        # logging window") and Train V2 keeps only metrics that come with a checkpoint.
        # The history travels in the checkpoint; the progress bar shows each window.
        if at_checkpoint or end_now:
            worker.report(metrics, save)
        if end_now:
            break
    progress.close()
    if live:
        live.close()
    if worker.rank == 0:
        return {"steps": state["step"], "resumed_from": state.get("resumed_from", [])}
    return None


def ray_train_loop(build_phase: PhaseBuilder, loop_config: LoopConfig) -> dict | None:
    """The training loop on a Ray Train worker."""
    return training_loop(build_phase, loop_config,
                         RayTrainWorker.start(loop_config.threads_per_worker,
                                              loop_config.cpu_bf16_autocast))


def train_loop_per_worker(build_phase: PhaseBuilder,
                          loop_config: LoopConfig) -> Callable[[], dict | None]:
    """The `train_loop_per_worker` of a phase, as `TorchTrainer` takes it, with no
    `train_loop_config`: the `LoopConfig` is bound into it."""
    return partial(ray_train_loop, build_phase, loop_config)
