"""evaluation nodes: train the frozen evaluator, measure the APT checkpoints on validation
prompts, pick the served one, measure it and the reference systems once on test prompts, write
the report."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from seaweed_apt.apt.kept import kept_checkpoint_files, kept_checkpoint_steps
from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.evaluation.collapse_alarm import collapse_alarms
from seaweed_apt.evaluation.data import load_split_clips
from seaweed_apt.evaluation.evaluator import trained_evaluator
from seaweed_apt.evaluation.on_ray import evaluate_systems_on_ray
from seaweed_apt.evaluation.prompts import reported_prompts, selection_prompts
from seaweed_apt.evaluation.report import build_report
from seaweed_apt.evaluation.run import caption_text, model_loader, prompt_seeds
from seaweed_apt.evaluation.selection import reference_row, select_checkpoint
from seaweed_apt.evaluation.speed import time_one_step_against_teacher
from seaweed_apt.evaluation.summary import summarize_evaluation
from seaweed_apt.evaluation.systems import reported_systems, selection_systems
from seaweed_apt.result_cache import ResultCache
from seaweed_apt.text.caption_table import load_caption_table
from seaweed_apt.text.encoder import embed_prompts
from seaweed_apt.training.checkpoint import ModelFiles, load_model_from_files

logger = logging.getLogger(__name__)


def train_evaluator(curated_clips: CuratedClips, evaluation_cache_dir: str,
                    evaluation: EvaluationConfig) -> tuple[dict[str, bytes], dict]:
    """The item classifier on real train clips, frozen, with its accuracy on real test clips;
    from the evaluation cache where the same clips, settings and code trained one before.

    Returns:
        evaluator files (weights + config), and its record (accuracy, chance, history).
    """
    config = evaluation.evaluator
    train = load_split_clips(curated_clips, "train", limit=config.train_clips, seed=config.seed)
    test = load_split_clips(curated_clips, "test")
    return trained_evaluator(train, test, config, ResultCache(evaluation_cache_dir))


def _temporal_patch(teacher_model: ModelFiles) -> int:
    return teacher_model.load_model().patch[0]


def measure_validation(curated_clips: CuratedClips, teacher_model: ModelFiles,
                       distilled_model: ModelFiles, apt_checkpoints: dict[str, bytes],
                       evaluator_model: dict[str, bytes], evaluation_cache_dir: str,
                       evaluation: EvaluationConfig, ray: RayConfig) -> pd.DataFrame:
    """What selection reads: the reference teacher, the distilled student and every kept APT
    checkpoint at one step, on validation captions and seeds against the real validation clips;
    clip shape, guidance and shift are the teacher files' (its generation block).

    Returns:
        one row per system (prompt set "val") and the validation clips' own ceiling row.
    """
    reference, prompt_sets = selection_prompts(curated_clips, evaluation)
    steps = kept_checkpoint_steps(apt_checkpoints)
    generation = teacher_model.generation
    systems = selection_systems(evaluation.reference_teacher_steps, generation.guidance_scale,
                                steps)
    model_files = {"teacher": teacher_model.read(), "distilled": distilled_model.read(),
                   **{f"apt/{step}": kept_checkpoint_files(apt_checkpoints, step)
                      for step in steps}}
    measured, _ = evaluate_systems_on_ray(
        systems, model_files, reference, prompt_sets, None, evaluator_model, evaluation,
        generation.clip_shape, generation.shift, _temporal_patch(teacher_model), ray,
        ResultCache(evaluation_cache_dir))
    return measured


def select_apt_checkpoint(validation_systems: pd.DataFrame, apt_checkpoints: dict[str, bytes],
                          evaluation: EvaluationConfig) -> tuple[dict[str, bytes], dict]:
    """The served APT checkpoint, chosen on the validation prompts only: the lowest one-step
    FD-EffLite0 among the checkpoints that keep `selection_min_accuracy_ratio` of the teacher's
    conditional accuracy (all, when none does), never one that raises the collapse alarm
    (motion speed, diversity or worst-class accuracy under a share of the teacher's).

    Returns:
        its model files with `selection.json` beside them, and the selection record.
    """
    one_step = validation_systems[(validation_systems["family"] == "apt")
                                  & (validation_systems["steps"] == 1)]
    teacher = reference_row(validation_systems, evaluation)
    one_step = one_step.assign(collapse_alarm=collapse_alarms(one_step, teacher,
                                                              evaluation.collapse_alarm))
    record = select_checkpoint(one_step, float(teacher["conditional_accuracy"]),
                               evaluation.selection_min_accuracy_ratio,
                               evaluation.fd_tie_tolerance)
    if record["collapsed"]:
        logger.warning("selection: %s", record["reason"])
    files = kept_checkpoint_files(apt_checkpoints, int(record["checkpoint_step"]))
    return files | {"selection.json": json.dumps(record, indent=2).encode()}, record


def measure_systems(curated_clips: CuratedClips, teacher_model: ModelFiles,
                    distilled_model: ModelFiles, apt_best_model: dict[str, bytes],
                    apt_selection: dict, evaluator_model: dict[str, bytes],
                    evaluation_cache_dir: str, evaluation: EvaluationConfig, ray: RayConfig
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The test pass, once, for the selected checkpoint and the reference systems: test captions
    of seen (item, motion) compositions, of held-out ones (`unseen`, where the data hold any
    out) and the seen ones reworded (`paraphrase`), each with its own test seeds; the
    ceilings (the prompts' own real clips) and the floors at the same count. Clip shape,
    guidance, shift and the text encoder of reworded prompts are the teacher files'.

    Returns:
        one row per system and real or trivial set, and one row per clip of each.
    """
    generation = teacher_model.generation
    reference, prompt_sets, floors = reported_prompts(
        curated_clips, evaluation, lambda prompts: embed_prompts(prompts, generation.text_encoder))
    step = int(apt_selection["checkpoint_step"])
    systems = reported_systems(evaluation.teacher_steps, generation.guidance_scale, step,
                               evaluation.apt_steps, evaluation.reference_teacher_steps,
                               tuple(name for name in ("unseen", "paraphrase")
                                     if name in prompt_sets))
    model_files = {"teacher": teacher_model.read(), "distilled": distilled_model.read(),
                   f"apt/{step}": apt_best_model}
    return evaluate_systems_on_ray(systems, model_files, reference, prompt_sets, floors,
                                   evaluator_model, evaluation, generation.clip_shape,
                                   generation.shift, _temporal_patch(teacher_model), ray,
                                   ResultCache(evaluation_cache_dir))


def time_served_against_teacher(curated_clips: CuratedClips, teacher_model: ModelFiles,
                                apt_best_model: dict[str, bytes], evaluation: EvaluationConfig
                                ) -> dict:
    """The speed-up goal's figure: the reference teacher (with CFG) and the served one-step
    generator, each making the same `speed_timing.videos` videos in one call, in interleaved
    rounds, as the teacher's files say (clip shape, guidance, shift). The prompts are the caption
    table's first rows (speed does not depend on the words).

    Returns:
        the timing record (`time_one_step_against_teacher`), written as speed.json.
    """
    timing = evaluation.speed_timing
    table = load_caption_table(curated_clips.caption_table_uri)
    text = caption_text(table, np.arange(timing.videos) % table.tokens.shape[0])
    seeds = prompt_seeds(evaluation.seed, "test", timing.videos)
    generation = teacher_model.generation
    return time_one_step_against_teacher(
        teacher_model.load_model(), load_model_from_files(apt_best_model), text, seeds,
        evaluation.reference_teacher_steps, generation.guidance_scale, generation.clip_shape,
        generation.shift, timing.rounds)


def report_evaluation(evaluation_systems: pd.DataFrame, evaluation_clips: pd.DataFrame,
                      validation_systems: pd.DataFrame, apt_selection: dict,
                      evaluation_speed: dict, evaluator_record: dict,
                      pretrain_history: pd.DataFrame, distill_history: pd.DataFrame,
                      apt_history: pd.DataFrame,
                      teacher_model: ModelFiles, distilled_model: ModelFiles,
                      apt_checkpoints: dict[str, bytes], curated_clips: CuratedClips,
                      evaluation: EvaluationConfig, sampling: SamplingConfig
                      ) -> tuple[dict, dict[str, bytes]]:
    """Returns: the headline metrics (DVC metrics) and the report folder (report.md,
    report.html, charts, sample grids)."""
    summary, goals = summarize_evaluation(evaluation_systems, evaluation_clips, apt_selection,
                                          evaluation, evaluator_record, evaluation_speed)
    histories = {"pretrain": (pretrain_history, ["loss", "grad_norm"]),
                 "distill": (distill_history, ["loss"]),
                 "apt": (apt_history, ["d_adv", "g_loss", "d_accuracy", "r1"])}
    files = build_report(summary, goals, evaluation_systems, evaluation_clips,
                         validation_systems, apt_selection, histories,
                         model_loader(teacher_model.read(), distilled_model.read(),
                                      apt_checkpoints),
                         curated_clips.manifest, evaluation, sampling,
                         teacher_model.generation)
    return summary, files
