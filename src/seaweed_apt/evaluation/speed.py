"""The speed-up of the served one-step generator over its teacher, timed side by side."""

from __future__ import annotations

import statistics

from torch import nn

from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.timing import interleaved_rounds


def time_one_step_against_teacher(teacher: nn.Module, one_step: nn.Module, text: TextBatch,
                                  seeds: list[int], teacher_steps: int, cfg_scale: float,
                                  geometry: tuple[int, int, int], shift: float,
                                  rounds: int) -> dict:
    """Seconds per video of the teacher (`teacher_steps` Euler steps with CFG) and of the
    one-step generator (one step, no CFG), each making the same batch of len(seeds) videos in
    one call, in `rounds` interleaved rounds after an untimed warm-up of each.

    The speed-up is the median over rounds of the ratio within a round (a machine's slow spell
    falls on both); its range is the lowest and highest round. The network-evaluation bound is
    2 * teacher_steps (CFG doubles the teacher's calls). Issue 19 asks for this: a teacher timed
    in one pass and the student minutes later gave 43.6x where interleaved rounds of the same
    kind of models gave 50.5x (docs/lab/apt_trials.md, trial 22; docs/benchmarks.md).

    Args:
        text: the prompts' embeddings, one row per seed (speed does not depend on the words).
        geometry: (frames, height, width) in pixels.

    Returns:
        {"videos", "rounds", "teacher_steps", "cfg_scale", "teacher_seconds_per_video",
         "one_step_seconds_per_video" (medians over rounds), "speedup" (median ratio),
         "speedup_min", "speedup_max", "network_evaluation_ratio"}.
    """
    frames, height, width = geometry

    def videos_of(model: nn.Module, steps: int, cfg: float, one_step_generator: bool):
        return lambda: generate_videos(model, text, seeds, steps, cfg, frames, height, width,
                                       shift=shift, one_step_generator=one_step_generator,
                                       batch_size=len(seeds))

    seconds = interleaved_rounds({"teacher": videos_of(teacher, teacher_steps, cfg_scale, False),
                                  "one_step": videos_of(one_step, 1, 1.0, True)}, rounds)
    ratios = [t / s for t, s in zip(seconds["teacher"], seconds["one_step"], strict=True)]
    return {"videos": len(seeds), "rounds": rounds, "teacher_steps": teacher_steps,
            "cfg_scale": cfg_scale,
            "teacher_seconds_per_video": statistics.median(seconds["teacher"]) / len(seeds),
            "one_step_seconds_per_video": statistics.median(seconds["one_step"]) / len(seeds),
            "speedup": statistics.median(ratios), "speedup_min": min(ratios),
            "speedup_max": max(ratios),
            "network_evaluation_ratio": teacher_steps * (2 if cfg_scale != 1.0 else 1)}
