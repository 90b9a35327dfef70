"""One evaluation pass: every system of a prompt set makes the same prompts from the same seeds,
every set of videos is measured the same way against the same real clips, with ceilings (the
prompts' own real clips) and floors at the same sample count."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from seaweed_apt.apt.kept import kept_checkpoint_files
from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.evaluation.data import LabelledClips
from seaweed_apt.evaluation.evaluator import load_evaluator
from seaweed_apt.evaluation.features import EffLite0Features
from seaweed_apt.evaluation.quality import (
    MotionReading,
    SetFeatures,
    clip_table,
    extract_set_features,
    quality_figures,
)
from seaweed_apt.evaluation.systems import System, run_system
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.training.checkpoint import load_model_from_files

logger = logging.getLogger(__name__)


def blurred(videos: np.ndarray, kernel: int) -> np.ndarray:
    """Box blur of every frame: the 'blurry' floor (what an MSE-distilled student drifts to)."""
    x = torch.from_numpy(videos).float().permute(0, 1, 4, 2, 3).flatten(0, 1)  # (B*T, 3, H, W)
    x = F.avg_pool2d(x, kernel, stride=1, padding=kernel // 2, count_include_pad=False)
    return x.view(*videos.shape[:2], *x.shape[1:]).permute(0, 1, 3, 4, 2).round().byte().numpy()


def first_frame_repeated(videos: np.ndarray) -> np.ndarray:
    """The frozen-clip floor: right appearance, no motion."""
    return np.repeat(videos[:, :1], videos.shape[1], axis=1)


def uniform_noise(like: np.ndarray, seed: int) -> np.ndarray:
    """The no-model baseline that ignores the data: every pixel uniform at random."""
    return np.random.default_rng(seed).integers(0, 256, like.shape, dtype=np.uint8)


def mean_frame_repeated(videos: np.ndarray) -> np.ndarray:
    """The no-model baseline that knows only the data's average: one mean frame, still."""
    mean = videos.reshape(-1, *videos.shape[2:]).mean(axis=0).round().astype(np.uint8)
    return np.broadcast_to(mean, videos.shape).copy()


def caption_text(table: TextBatch, rows: np.ndarray) -> TextBatch:
    return table.select(np.asarray(rows, dtype=np.int64)).float()


# Evaluation noise seeds live at 2**60 and above: every training and teacher-pair seed is below
# 2**52 (a config seed < 2**31 times SEED_STRIDE, plus rank and step or pair offsets), so no
# evaluated video starts from a noise any model was trained on. Each prompt set has its own range;
# the paraphrase set reuses the test seeds so that only the wording differs.
EVALUATION_SEED_BASE = 2**60
PROMPT_SET_SEED_RANGE = {"val": 0, "test": 1, "paraphrase": 1, "unseen": 2}
SEED_STRIDE = 1_000_003


def prompt_seeds(seed: int, prompt_set: str, count: int) -> list[int]:
    """One noise seed per prompt of `prompt_set`; every system gets the same.

    Raises:
        KeyError: an unknown prompt set.
    """
    base = EVALUATION_SEED_BASE + PROMPT_SET_SEED_RANGE[prompt_set] * 2**56 + seed * SEED_STRIDE
    return [base + i for i in range(count)]


@dataclass
class PromptSet:
    """What the systems of one prompt set are asked for: the real clips whose captions (items,
    axes) they are, the text the network reads (the captions or a rewording) and a seed each."""

    clips: LabelledClips
    text: TextBatch
    seeds: list[int]


class SetMeter:
    """Measures any set of videos (a system's or a floor's) the same way: EfficientNet-Lite0 frame
    features, the frozen evaluator, the motion readers, every figure of `quality_figures` against
    the real reference. Built from files and arrays alone, so a Ray actor builds the same one."""

    def __init__(self, evaluator_files: dict[str, bytes], config: EvaluationConfig,
                 temporal_patch: int) -> None:
        self.extractor = EffLite0Features(config.feature_image_size)
        self.evaluator, self.evaluator_config = load_evaluator(evaluator_files)
        self.motion = MotionReading(config.motion.item_threshold, config.motion.min_speed_px,
                                    temporal_patch)
        self.batch_size = config.feature_batch_size
        self.reference: SetFeatures | None = None
        self.reference_captions: list[str] = []

    def compare_to(self, reference: SetFeatures, captions: list[str]) -> None:
        """The real clips' features (`features` of them) that `figures` measures against."""
        self.reference, self.reference_captions = reference, captions

    def figures(self, videos: np.ndarray, asked: LabelledClips
                ) -> tuple[dict[str, float], pd.DataFrame]:
        """`videos` (B, T, H, W, 3) uint8 made for the clips `asked` (their captions, items and
        axes): the set's figures and one row per clip."""
        features = self.features(videos)
        return (quality_figures(features, asked.captions, asked.labels, asked.axes,
                                self.evaluator_config["class_names"], self.reference,
                                self.reference_captions),
                clip_table(features, asked.captions, asked.labels, asked.axes))

    def features(self, videos: np.ndarray) -> SetFeatures:
        return extract_set_features(videos, self.extractor, self.evaluator, self.motion,
                                    self.batch_size)


def floor_sets(floor_clips: LabelledClips, config: EvaluationConfig) -> dict[str, np.ndarray]:
    """The floors, each (B, T, H, W, 3) uint8 at the systems' sample count."""
    return {"real_train": floor_clips.frames,
            "real_first_frame_repeated": first_frame_repeated(floor_clips.frames),
            "real_blurred": blurred(floor_clips.frames, config.blur_kernel),
            # Trivial baselines: a first model has to beat these to be worth serving.
            "trivial_uniform_noise": uniform_noise(floor_clips.frames, config.seed),
            "trivial_mean_frame": mean_frame_repeated(floor_clips.frames)}


FD_COLUMNS = ("fd_efflite0", "fd_efflite0_half_a", "fd_efflite0_half_b", "fd_efflite0_clip",
              "fd_evaluator", "fd_efflite0_spread")


def reference_row(name: str, figures: dict[str, float], prompt_set: str) -> dict:
    """A row of real or trivial videos: a floor (`real_train`, ...), a trivial baseline, or a
    ceiling (`real_<set>`: the prompt set's own real clips, what a perfect generator would score;
    their FDs are blank, since the reference holds those very clips)."""
    family = "ceiling" if name == f"real_{prompt_set}" else \
        name.split("_")[0].replace("real", "floor")
    if family == "ceiling":
        figures = figures | dict.fromkeys(FD_COLUMNS, float("nan"))
    return {"system": name, "family": family, "prompt_set": prompt_set, "steps": 0,
            "network_evaluations": 0, "seconds_per_video": float("nan"), "checkpoint": "",
            **figures}


def measure_system(meter: SetMeter, model: nn.Module, system: System, prompts: PromptSet,
                   geometry: tuple[int, int, int], shift: float, config: EvaluationConfig
                   ) -> tuple[dict, pd.DataFrame]:
    """One system's row and its clips: its videos for `prompts`, timed, then measured."""
    videos, seconds = run_system(model, system, prompts.text, prompts.seeds, geometry, shift,
                                 config.generation_batch_size, config.min_timing_s)
    figures, clips = meter.figures(videos, prompts.clips)
    logger.info("%s (%s prompts): FD-EffLite0 %.2f (halves %.2f / %.2f), conditional accuracy "
                "%.3f, motion axis %.3f, speed %.2fx real, %.4f s per video", system.name,
                system.prompt_set, figures["fd_efflite0"], figures["fd_efflite0_half_a"],
                figures["fd_efflite0_half_b"], figures["conditional_accuracy"],
                figures["motion_axis_accuracy"], figures["speed_ratio"], seconds)
    return {"system": system.name, "family": system.family, "prompt_set": system.prompt_set,
            "steps": system.steps, "network_evaluations": system.network_evaluations,
            "seconds_per_video": seconds, "checkpoint": system.checkpoint, **figures}, clips


def check_prompt_sets(systems: list[System], prompt_sets: dict[str, PromptSet]) -> None:
    """Raises ValueError: a system asks for a prompt set that was not given."""
    for system in systems:
        if system.prompt_set not in prompt_sets:
            raise ValueError(f"{system.name} asks for the {system.prompt_set} prompts, "
                             f"which were not given (have {sorted(prompt_sets)})")


def reference_units(prompt_sets: dict[str, PromptSet], floor_clips: LabelledClips | None,
                    config: EvaluationConfig) -> list[tuple[str, np.ndarray, LabelledClips, str]]:
    """(name, videos, the clips they stand for, prompt set) of every real and trivial row: a
    ceiling per prompt set of its own (a rewording has no clips of its own), then the floors."""
    units = [(f"real_{name}", prompts.clips.frames, prompts.clips, name)
             for name, prompts in prompt_sets.items() if name != "paraphrase"]
    if floor_clips is not None:
        units += [(name, videos, floor_clips, "test")
                  for name, videos in floor_sets(floor_clips, config).items()]
    return units


def systems_table(rows: list[dict], clips: list[pd.DataFrame]) -> tuple[pd.DataFrame,
                                                                       pd.DataFrame]:
    """The rows as one table (with `checkpoint_step`) and every set's clips as another, each
    clip tagged with its row's system and prompt set."""
    table = pd.DataFrame(rows)
    table["checkpoint_step"] = [int(c.split("/")[1]) if c.startswith("apt/") else -1
                                for c in table["checkpoint"]]
    tagged = [frame.assign(system=row["system"], prompt_set=row["prompt_set"])
              for row, frame in zip(rows, clips, strict=True)]
    clip_rows = pd.concat(tagged, ignore_index=True)
    return table, clip_rows[["system", "prompt_set", *clips[0].columns]]


def evaluate_systems(systems: list[System], load_model: Callable[[str], nn.Module],
                     reference: LabelledClips, prompt_sets: dict[str, PromptSet],
                     floor_clips: LabelledClips | None, evaluator_files: dict[str, bytes],
                     config: EvaluationConfig, geometry: tuple[int, int, int], shift: float,
                     temporal_patch: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per ceiling, floor and system, in this process: speed, network evaluations and
    every quality figure, and one row per clip (`evaluate_systems_on_ray` is the same on Ray
    actors).

    Each system makes the videos of its prompt set (`prompt_sets[system.prompt_set]`); every
    set is measured against the real `reference` clips; `floor_clips` (real train clips at the
    systems' count, or None for no floors) make the floors.

    Raises:
        ValueError: a system asks for a prompt set that was not given.
    """
    check_prompt_sets(systems, prompt_sets)
    meter = SetMeter(evaluator_files, config, temporal_patch)
    meter.compare_to(meter.features(reference.frames), reference.captions)
    rows, clips = [], []
    units = reference_units(prompt_sets, floor_clips, config)
    with tqdm(total=len(units) + len(systems), desc="evaluation", unit="system") as progress:
        for name, videos, asked, prompt_set in units:
            figures, clip_rows = meter.figures(videos, asked)
            rows.append(reference_row(name, figures, prompt_set))
            clips.append(clip_rows)
            progress.update(1)
        loaded: dict[str, nn.Module] = {}
        for system in systems:
            if system.checkpoint not in loaded:
                loaded.clear()  # one model in memory at a time
                loaded[system.checkpoint] = load_model(system.checkpoint)
            row, clip_rows = measure_system(meter, loaded[system.checkpoint], system,
                                            prompt_sets[system.prompt_set], geometry, shift,
                                            config)
            rows.append(row)
            clips.append(clip_rows)
            progress.update(1)
    return systems_table(rows, clips)


def model_loader(teacher: dict[str, bytes], distilled: dict[str, bytes],
                 apt_checkpoints: dict[str, bytes]) -> Callable[[str], nn.Module]:
    """'teacher', 'distilled' or 'apt/<update>' -> the model, built from its files alone."""
    def load(key: str) -> nn.Module:
        if key == "teacher":
            return load_model_from_files(teacher)
        if key == "distilled":
            return load_model_from_files(distilled)
        return load_model_from_files(kept_checkpoint_files(apt_checkpoints,
                                                           int(key.split("/")[1])))
    return load
