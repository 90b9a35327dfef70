"""The systems an evaluation compares, and how each makes its videos (through `generate_videos`,
the function the endpoint serves with) and how long it takes."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.timing import timed_passes


@dataclass(frozen=True)
class System:
    name: str  # e.g. teacher_25step, distilled_1step, apt_00300_2step
    family: str  # teacher | distilled | apt | floor
    steps: int
    cfg_scale: float  # 1: no guidance
    one_step_generator: bool  # x = z - v(z, c, 1): the distilled student and APT's G
    checkpoint: str = ""  # which model files (teacher, distilled, apt step)
    # val: validation captions (selection) | test: test captions of seen (item, motion)
    # compositions | unseen: of held-out ones | paraphrase: the test captions reworded
    prompt_set: str = "test"

    @property
    def network_evaluations(self) -> int:
        """Per video: a guided step costs two evaluations (conditional and unconditional)."""
        return self.steps * (2 if self.cfg_scale != 1.0 else 1)


def selection_systems(reference_teacher_steps: int, cfg_scale: float,
                       apt_checkpoint_steps: list[int]) -> list[System]:
    """What selection reads, on the validation prompts: the reference teacher (the accuracy the
    rule compares to), the distilled student and every kept APT checkpoint at one step."""
    systems = [System(f"teacher_{reference_teacher_steps}step", "teacher",
                      reference_teacher_steps, cfg_scale, False, "teacher", "val"),
               System("distilled_1step", "distilled", 1, 1.0, True, "distilled", "val")]
    systems += [System(f"apt_{step:05d}_1step", "apt", 1, 1.0, True, f"apt/{step}", "val")
                for step in apt_checkpoint_steps]
    return systems


def reported_systems(teacher_steps: list[int], cfg_scale: float, selected_step: int,
                 apt_steps: list[int], reference_teacher_steps: int,
                 extra_prompt_sets: tuple[str, ...] = ("unseen", "paraphrase")) -> list[System]:
    """What the report, the goals and the gate read, on the test prompts (docs/method.md §4-5):
    the teacher at each step count with CFG, the distilled student at one step, the selected APT
    checkpoint at one and zero-shot more steps; then, for each of `extra_prompt_sets`, the
    reference teacher, the student and APT-1 again (names end in `_<set>`)."""
    systems = [System(f"teacher_{n}step", "teacher", n, cfg_scale, False, "teacher")
               for n in teacher_steps]
    systems.append(System("distilled_1step", "distilled", 1, 1.0, True, "distilled"))
    systems += [System(f"apt_{selected_step:05d}_{n}step", "apt", n, 1.0, True,
                       f"apt/{selected_step}") for n in apt_steps]
    again = [next(s for s in systems if s.family == "teacher"
                  and s.steps == reference_teacher_steps)]
    again += [s for s in systems if s.steps == 1 and s.family != "teacher"]
    for prompt_set in extra_prompt_sets:
        systems += [replace(s, name=f"{s.name}_{prompt_set}", prompt_set=prompt_set)
                    for s in again]
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
