"""evaluation nodes: train the frozen evaluator, measure every system, pick the served APT
checkpoint, write the report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from seaweed_apt.apt.kept import kept_checkpoint_files, kept_checkpoint_steps
from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.evaluation.data import load_split_clips
from seaweed_apt.evaluation.evaluator import evaluator_files, fit_evaluator
from seaweed_apt.evaluation.on_ray import evaluate_systems_on_ray
from seaweed_apt.evaluation.paraphrase import paraphrase_captions
from seaweed_apt.evaluation.report import build_report
from seaweed_apt.evaluation.run import caption_text, model_loader, summarize_evaluation
from seaweed_apt.evaluation.selection import select_checkpoint
from seaweed_apt.evaluation.speed import time_one_step_against_teacher
from seaweed_apt.evaluation.systems import standard_systems
from seaweed_apt.reporting.samples import embed_prompts
from seaweed_apt.training.checkpoint import load_model_from_files
from seaweed_apt.training.data import load_caption_table
from seaweed_apt.training.stage import clip_geometry


def train_evaluator(clip_manifest: pd.DataFrame, clip_shards_dir: str,
                    evaluation: EvaluationConfig) -> tuple[dict[str, bytes], dict]:
    """The item classifier on real train clips, frozen, with its accuracy on real test clips.

    Returns:
        evaluator files (weights + config), and its record (accuracy, chance, history).
    """
    config = evaluation.evaluator
    train = load_split_clips(clip_manifest, clip_shards_dir, "train", limit=config.train_clips,
                             seed=config.seed)
    test = load_split_clips(clip_manifest, clip_shards_dir, "test")
    model, record = fit_evaluator(train, test, config)
    return evaluator_files(model, train.class_names, record), record


def measure_systems(clip_manifest: pd.DataFrame, clip_shards_dir: str,
                    caption_embeddings_file: str, teacher_model: dict[str, bytes],
                    distilled_model: dict[str, bytes], apt_checkpoints: dict[str, bytes],
                    evaluator_model: dict[str, bytes], evaluation: EvaluationConfig,
                    sampling: SamplingConfig, text_encoder: TextEncoderConfig,
                    ray: RayConfig) -> pd.DataFrame:
    """Every system on the same test captions and seeds, floors at the same count; the paraphrase
    set on the same captions reworded. Measured on `ray.num_workers` Ray actors.

    Returns:
        one row per system: speed, network evaluations and the quality figures.
    """
    reference = load_split_clips(clip_manifest, clip_shards_dir, "test",
                                 limit=evaluation.reference_clips, seed=evaluation.seed)
    prompts = load_split_clips(clip_manifest, clip_shards_dir, "test",
                               limit=evaluation.num_samples, seed=evaluation.seed + 1)
    floors = load_split_clips(clip_manifest, clip_shards_dir, "train",
                              limit=evaluation.num_samples, seed=evaluation.seed + 2)
    steps = kept_checkpoint_steps(apt_checkpoints)
    systems = standard_systems(evaluation.teacher_steps, sampling.cfg_scale, steps,
                               evaluation.apt_steps, evaluation.reference_teacher_steps)
    paraphrases = embed_prompts(paraphrase_captions(prompts.captions, evaluation.paraphrases),
                                text_encoder)
    model_files = {"teacher": teacher_model, "distilled": distilled_model,
                   **{f"apt/{step}": kept_checkpoint_files(apt_checkpoints, step)
                      for step in steps}}
    return evaluate_systems_on_ray(systems, model_files, reference, prompts, floors,
                                   load_caption_table(caption_embeddings_file), evaluator_model,
                                   evaluation, clip_geometry(clip_manifest), sampling.shift, ray,
                                   paraphrases)


def select_apt_checkpoint(evaluation_systems: pd.DataFrame, apt_checkpoints: dict[str, bytes],
                          evaluation: EvaluationConfig) -> tuple[dict[str, bytes], dict]:
    """The served APT checkpoint: the lowest one-step FD-EffLite0 among the checkpoints that keep
    `selection_min_accuracy_ratio` of the teacher's conditional accuracy (all, when none does).

    Returns:
        its model files with `selection.json` beside them, and the selection record.
    """
    on_test = evaluation_systems[evaluation_systems["prompt_set"] == "test"]
    one_step = on_test[(on_test["family"] == "apt") & (on_test["steps"] == 1)]
    teacher = on_test.set_index("system").loc[
        f"teacher_{evaluation.reference_teacher_steps}step"]
    record = select_checkpoint(one_step, float(teacher["conditional_accuracy"]),
                               evaluation.selection_min_accuracy_ratio,
                               evaluation.fd_tie_tolerance)
    files = kept_checkpoint_files(apt_checkpoints, int(record["checkpoint_step"]))
    return files | {"selection.json": json.dumps(record, indent=2).encode()}, record


def time_served_against_teacher(clip_manifest: pd.DataFrame, caption_embeddings_file: str,
                                teacher_model: dict[str, bytes], apt_best_model: dict[str, bytes],
                                evaluation: EvaluationConfig, sampling: SamplingConfig) -> dict:
    """The speed-up goal's figure: the reference teacher (with CFG) and the served one-step
    generator, each making the same `speed_timing.videos` videos in one call, in interleaved
    rounds. The prompts are the caption table's first rows (speed does not depend on the words).

    Returns:
        the timing record (`time_one_step_against_teacher`), written as speed.json.
    """
    timing = evaluation.speed_timing
    table = load_caption_table(caption_embeddings_file)
    text = caption_text(table, np.arange(timing.videos) % table.tokens.shape[0])
    seeds = [evaluation.seed * 1_000_003 + i for i in range(timing.videos)]
    return time_one_step_against_teacher(
        load_model_from_files(teacher_model), load_model_from_files(apt_best_model), text, seeds,
        evaluation.reference_teacher_steps, sampling.cfg_scale, clip_geometry(clip_manifest),
        sampling.shift, timing.rounds)


def report_evaluation(evaluation_systems: pd.DataFrame, apt_selection: dict,
                      evaluation_speed: dict, evaluator_record: dict,
                      pretrain_history: pd.DataFrame, distill_history: pd.DataFrame,
                      apt_history: pd.DataFrame,
                      teacher_model: dict[str, bytes], distilled_model: dict[str, bytes],
                      apt_checkpoints: dict[str, bytes], clip_manifest: pd.DataFrame,
                      evaluation: EvaluationConfig, sampling: SamplingConfig,
                      text_encoder: TextEncoderConfig) -> tuple[dict, dict[str, bytes]]:
    """Returns: the headline metrics (DVC metrics) and the report folder (report.md,
    report.html, charts, sample grids)."""
    summary, goals = summarize_evaluation(evaluation_systems, apt_selection["system"],
                                          evaluation, evaluator_record, evaluation_speed)
    histories = {"pretrain": (pretrain_history, ["loss", "grad_norm"]),
                 "distill": (distill_history, ["loss"]),
                 "apt": (apt_history, ["d_adv", "g_loss", "d_accuracy", "r1"])}
    files = build_report(summary, goals, evaluation_systems, apt_selection, histories,
                         model_loader(teacher_model, distilled_model, apt_checkpoints),
                         clip_manifest, evaluation, sampling, text_encoder)
    return summary, files
