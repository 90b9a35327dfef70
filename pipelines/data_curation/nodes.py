"""data_curation nodes: thin adapters from catalog datasets to `seaweed_apt.data`."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from seaweed_apt.config.curation import CurationConfig, QualityGateConfig, SplitConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.data.curated import CuratedClips, CuratedClipsParts
from seaweed_apt.data.curation import REJECT_COLUMNS, compute_curation_summary
from seaweed_apt.data.curation_on_ray import (
    cut_clips_on_ray,
    probe_videos_on_ray,
    read_candidate_frames,
)
from seaweed_apt.data.shards import caption_rows, shard_clips
from seaweed_apt.data.splits import assign_splits
from seaweed_apt.expectations import raise_if_gate_failed, run_quality_gate
from seaweed_apt.text.caption_table import caption_table_arrays
from seaweed_apt.text.encoder import TextEncoder

logger = logging.getLogger(__name__)


def probe_raw_videos(raw_videos: pd.DataFrame, curation: CurationConfig, ray: RayConfig
                     ) -> pd.DataFrame:
    """Args: raw_videos: the indexed raw files. curation: files per task. ray: task resources.
    Returns: one ffprobe row per file (codec, fps, size, duration, frames, sha256, error)."""
    return probe_videos_on_ray(raw_videos, ray, curation.files_per_task)


def cut_candidate_clips(raw_videos: pd.DataFrame, raw_video_probes: pd.DataFrame,
                        curation: CurationConfig, ray: RayConfig, candidate_clips_dir: str
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Args: raw_videos, raw_video_probes, curation (fps, size, clip length, strides, motion),
    ray (task resources), candidate_clips_dir (where the tasks write their clips' frames).
    Returns: candidate clip rows (with `candidate_part`, `candidate_offset`), rejects."""
    return cut_clips_on_ray(raw_videos, raw_video_probes, curation, ray, candidate_clips_dir,
                            curation.files_per_task)


def split_clips_by_source(candidate_clips: pd.DataFrame, split: SplitConfig) -> pd.DataFrame:
    """Args: candidate_clips, split fractions. Returns: the clips with a `split` column."""
    return assign_splits(candidate_clips, split)


def embed_captions(split_clips: pd.DataFrame, text_encoder: TextEncoderConfig
                   ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Embed each unique caption once.
    Args: split_clips, text_encoder (model package, token length).
    Returns: clips with `caption_row`, and the caption table's arrays."""
    index, captions = caption_rows(split_clips["caption"])
    table = TextEncoder(text_encoder).encode(captions)
    logger.info("embedded %d unique captions of %d clips", len(captions), len(split_clips))
    return (split_clips.assign(caption_row=index),
            caption_table_arrays(table))


def validate_clip_manifest(embedded_clips: pd.DataFrame, curation: CurationConfig,
                           quality_gate: QualityGateConfig
                           ) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict[str, bytes]]:
    """The Great Expectations gate over the clip manifest.
    Returns: rows that passed, rows that failed (to quarantine), the report, GX Data Docs files."""
    result = run_quality_gate(embedded_clips, "clip_manifest", curation, quality_gate)
    return result.passed, result.failed, result.report, result.data_docs


def enforce_quality_gate(gated_clips: pd.DataFrame, quality_gate_report: dict,
                         quarantine: pd.DataFrame) -> pd.DataFrame:
    """Stops the run when the gate failed, after the report, the Data Docs and the quarantine
    are written (`quarantine` is an input only so that it is saved first: a stopped run still
    says which files were rejected and why).
    Returns: the validated clips, unchanged."""
    raise_if_gate_failed(quality_gate_report)
    return gated_clips


def write_clip_shards(validated_clips: pd.DataFrame, caption_table: dict[str, np.ndarray],
                      candidate_clips_dir: str, curation: CurationConfig) -> CuratedClipsParts:
    """Returns: the curated clips to write: the clip manifest (with shard and offset), shard
    name -> a function making its tensors from the candidate parts (saved one shard at a time),
    and the caption table."""
    def read_frames(rows: pd.DataFrame) -> np.ndarray:
        return read_candidate_frames(candidate_clips_dir, rows["candidate_part"].to_numpy(),
                                     rows["candidate_offset"].to_numpy())

    manifest, shards = shard_clips(validated_clips, read_frames, curation.shard_size)
    return CuratedClipsParts(manifest.drop(columns=["candidate_part", "candidate_offset"]),
                             shards, caption_table)


def quarantine_rejects(curation_rejects: pd.DataFrame, gate_rejects: pd.DataFrame) -> pd.DataFrame:
    """Returns: every file and clip that did not make it, with its reason."""
    gate_rows = pd.DataFrame({
        "level": "clip", "source_set": gate_rejects.get("source_set", pd.Series(dtype=str)),
        "file": gate_rejects.get("source_file", pd.Series(dtype=str)), "path": "",
        "clip_start": gate_rejects.get("start_frame", pd.Series(dtype="int64")),
        "reason": gate_rejects.get("reason", pd.Series(dtype=str)), "detail": "",
    }, columns=REJECT_COLUMNS)
    quarantine = pd.concat([curation_rejects, gate_rows], ignore_index=True)
    return quarantine.astype({"clip_start": "int64"})


def summarize_curation(raw_videos: pd.DataFrame, curated_clips: CuratedClips,
                       quarantine: pd.DataFrame) -> dict:
    """Returns: counts (files in, clips out, quarantined by reason); also logged as one line."""
    summary = compute_curation_summary(raw_videos, curated_clips.manifest, quarantine)
    logger.info("curation: %d files in, %d clips out %s, %d files quarantined %s, "
                "%d static windows dropped", summary["files_in"], summary["clips_out"],
                summary["clips_by_split"], summary["files_quarantined"],
                summary["quarantined_files_by_reason"],
                summary["quarantined_clips_by_reason"].get("static", 0))
    return summary
