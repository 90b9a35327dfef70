"""The systems an evaluation compares, and how each makes its videos (through `generate_videos`,
the function the endpoint serves with) and how long it takes."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from seaweed_apt.diffusion.flow import TextBatch
from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.timing import timed_passes


@dataclass(frozen=True)
class System:
    name: str  # e.g. teacher_25step, distilled_1step, apt_00300_2step
    family: str  # teacher | distilled | apt | floor
    steps: int
    cfg_scale: float  # 1: no guidance
    one_step_generator: bool  # x = z - v(z, c, 1): the distilled student and APT's G
    checkpoint: str = ""  # which model files (teacher, distilled, apt step)
    prompt_set: str = "test"  # test: the test clips' captions | paraphrase: the same, reworded

    @property
    def network_evaluations(self) -> int:
        """Per video: a guided step costs two evaluations (conditional and unconditional)."""
        return self.steps * (2 if self.cfg_scale != 1.0 else 1)


def standard_systems(teacher_steps: list[int], cfg_scale: float, apt_steps: list[int],
                     apt_zero_shot_steps: list[int], reference_teacher_steps: int | None = None
                     ) -> list[System]:
    """Teacher at each step count with CFG, the distilled student at 1 step, APT at 1 and
    zero-shot more steps for every kept checkpoint (docs/method.md §4-5). With
    `reference_teacher_steps`, the paraphrase set too: that teacher row, the distilled student
    and APT at 1 step, each on the reworded prompts (names end in `_paraphrase`)."""
    systems = [System(f"teacher_{n}step", "teacher", n, cfg_scale, False, "teacher")
               for n in teacher_steps]
    systems.append(System("distilled_1step", "distilled", 1, 1.0, True, "distilled"))
    for step in apt_steps:
        for n in apt_zero_shot_steps:
            systems.append(System(f"apt_{step:05d}_{n}step", "apt", n, 1.0, True,
                                  f"apt/{step}"))
    if reference_teacher_steps is not None:
        reworded = [s for s in systems if s.steps == 1 and s.family != "teacher"]
        reworded.insert(0, next(s for s in systems if s.family == "teacher"
                                and s.steps == reference_teacher_steps))
        systems += [replace(s, name=f"{s.name}_paraphrase", prompt_set="paraphrase")
                    for s in reworded]
    return systems


def run_system(model: nn.Module, system: System, text: TextBatch, seeds: list[int],
               geometry: tuple[int, int, int], shift: float, batch_size: int,
               min_timing_s: float = 0.0) -> tuple[np.ndarray, float]:
    """Videos (B, T, H, W, 3) uint8 of one system and its wall time per video in seconds (the
    median of repeated passes when one pass is shorter than `min_timing_s`)."""
    frames, height, width = geometry

    def generate() -> np.ndarray:
        torch.manual_seed(0)
        return generate_videos(model, text, seeds, system.steps, system.cfg_scale, frames,
                               height, width, shift=shift,
                               one_step_generator=system.one_step_generator,
                               batch_size=batch_size)

    videos, seconds = timed_passes(generate, min_timing_s)
    return videos, seconds / len(seeds)
