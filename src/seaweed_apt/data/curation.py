"""From indexed raw files to candidate clips: probe, decode, cut, score, and reject with a reason.

Nothing is dropped silently: every file that yields no clip and every window below the motion
threshold comes back as a row of `rejects` (level "file" or "clip") with its reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from seaweed_apt import storage
from seaweed_apt.config.curation import CurationConfig
from seaweed_apt.data.clips import motion_score, run_bounds, run_window_starts
from seaweed_apt.data.video_io import (
    Retiming,
    VideoError,
    decode_video,
    plan_retiming,
    probe_video,
    read_frame_times,
)

logger = logging.getLogger(__name__)

PROBE_COLUMNS = [
    "path", "sha256", "size_bytes", "codec", "container", "width", "height", "fps",
    "duration_s", "num_frames", "error_reason", "error_detail",
]
CLIP_COLUMNS = [
    "clip_id", "source_set", "source_file", "source_sha256", "source_package", "licence",
    "split_hint", "caption", "metadata", "start_frame", "num_frames", "fps", "width", "height",
    "motion", "source_codec", "source_fps", "source_width", "source_height",
]
REJECT_COLUMNS = ["level", "source_set", "file", "path", "clip_start", "reason", "detail"]


@dataclass
class CandidateClips:
    clips: pd.DataFrame  # one row per clip, aligned with `frames`
    frames: np.ndarray  # (N, T, H, W, 3) uint8
    rejects: pd.DataFrame  # REJECT_COLUMNS


def worker_count(requested: int) -> int:
    return requested if requested > 0 else (os.cpu_count() or 1)


def probe_one(path: str) -> dict:
    """ffprobe and sha256 of one file, local or at a storage URI (fetched to a temporary file
    first: ffmpeg reads files); a failure is the row's `error_reason`, never an exception."""
    row = dict.fromkeys(PROBE_COLUMNS, None)
    row.update(path=path, error_reason="", error_detail="", size_bytes=0, sha256="")
    try:
        with storage.local_copy(path) as file:
            if file.exists():
                row["size_bytes"] = file.stat().st_size
                row["sha256"] = storage.sha256(file)
            row.update(probe_video(file).as_dict())
    except FileNotFoundError as error:  # a remote object deleted since it was listed
        row.update(error_reason="missing_file", error_detail=str(error))
    except VideoError as error:
        row.update(error_reason=error.reason, error_detail=error.detail)
    return row


def probe_videos(index: pd.DataFrame, num_workers: int = 0) -> pd.DataFrame:
    """Probe every indexed file with ffprobe, row for row with `index`; a failure is a row with
    `error_reason`, not an error. A file indexed under two names (a link) is probed once."""
    def probe_all(paths: list[str]) -> list[dict]:
        with ThreadPoolExecutor(worker_count(num_workers)) as pool:
            return list(tqdm(pool.map(probe_one, paths), total=len(paths), desc="probe",
                             unit="file"))

    return probe_table(index, probe_all)


def probe_table(index: pd.DataFrame, probe_all: Callable[[list[str]], list[dict]]
                ) -> pd.DataFrame:
    """`probe_all` (distinct paths -> their probe rows, in order) over `index`'s distinct paths,
    spread back row for row with `index`."""
    paths = list(dict.fromkeys(index["path"]))
    by_path = dict(zip(paths, probe_all(paths), strict=True))
    return pd.DataFrame([by_path[path] for path in index["path"]], columns=PROBE_COLUMNS)


def clip_stems(index: pd.DataFrame) -> pd.Series:
    """The file part of clip ids: a file's path without its suffix (`walk`), or with it where
    two files of one source set share that stem (`walk.mp4`, `walk.mkv`), so ids stay unique."""
    stems = index["file"].map(lambda file: Path(file).with_suffix("").as_posix())
    shared = stems.groupby([index["source_set"], stems]).transform("size") > 1
    return stems.where(~shared, index["file"])


def find_duplicates(index: pd.DataFrame, probes: pd.DataFrame) -> dict[int, str]:
    """Rows whose bytes (sha256) another row also has -> why each is not curated, naming the
    `source_set/file` kept instead.

    One copy of each is curated: a usable one (probed, captioned) before others, a `test`-hinted
    one before others (a test video must never also be trained on), a file before a link to it
    (a local link's `path` is its target's, which does not end with the link's own name), then
    index order. The others would put the same video in two splits, or twice in one. A copy's own
    problem (an unreadable caption file, no caption) is said in its detail too, since the user
    would otherwise meet it only after removing the copy kept."""
    caption_error = index.get("caption_error", pd.Series("", index=index.index)).fillna("")
    usable = (probes["error_reason"] == "") & (index["caption"] != "") & (caption_error == "")
    is_link = ~pd.Series([str(path).endswith("/" + file) for path, file
                          in zip(index["path"], index["file"], strict=True)], index=index.index)
    candidates = pd.DataFrame({
        "sha256": probes["sha256"], "name": index["source_set"] + "/" + index["file"],
        "rank_unusable": ~usable, "rank_not_test": index["split_hint"] != "test",
        "rank_link": is_link,
    })[probes["sha256"].fillna("") != ""]
    duplicates = {}
    for sha256, copies in candidates.groupby("sha256", sort=False):
        if len(copies) < 2:
            continue
        ordered = copies.sort_values(["rank_unusable", "rank_not_test", "rank_link"], kind="stable")
        kept = ordered["name"].iloc[0]
        for row in ordered.index[1:]:
            detail = f"same bytes (sha256 {sha256[:12]}) as {kept}, which is kept"
            if caption_error[row]:
                detail += f"; this copy's caption is unusable too: {caption_error[row]}"
            elif not index["caption"][row]:
                detail += "; this copy has no caption either"
            duplicates[row] = detail
    return duplicates


def _reject(source: pd.Series, reason: str, detail: str, level: str = "file",
            clip_start: int = -1) -> dict:
    return {"level": level, "source_set": source["source_set"], "file": source["file"],
            "path": source["path"], "clip_start": clip_start, "reason": reason, "detail": detail}


def cut_clips_from_file(source: pd.Series, probe: pd.Series, config: CurationConfig):
    """Decode one file and cut its windows. Returns (clip rows, clip frames, reject rows)."""
    if probe["error_reason"]:
        return [], [], [_reject(source, probe["error_reason"], probe["error_detail"])]
    if source.get("caption_error"):
        reason = source.get("caption_error_reason") or "caption_unreadable"
        return [], [], [_reject(source, reason, source["caption_error"])]
    if not source["caption"]:
        return [], [], [_reject(source, "no_caption",
                                "no caption in captions.csv or a sidecar .txt, or one of "
                                "invisible characters only (zero-width, control)")]
    # A frame held longer than one clip would fill at least a whole window with its copies.
    max_hold_s = config.clip_frames / config.fps
    try:
        with storage.local_copy(source["path"]) as file:
            retiming = plan_retiming(read_frame_times(file), config.fps, max_hold_s)
            frames, warnings = decode_video(
                file, config.fps, config.width, config.height,
                max_hold_s=None if retiming is None else retiming.max_hold_s)
    except VideoError as error:
        return [], [], [_reject(source, error.reason, error.detail)]
    except FileNotFoundError as error:  # a remote object deleted since it was probed
        return [], [], [_reject(source, "missing_file", str(error))]
    expected = probe["duration_s"] * config.fps if retiming is None else retiming.num_frames
    if len(frames) < config.min_truncation_ratio * expected or (len(frames) == 0 and warnings):
        detail = f"decoded {len(frames)} of ~{expected:.0f} frames at {config.fps} fps"
        return [], [], [_reject(source, "truncated", f"{detail}; {warnings[-200:]}".strip())]
    if len(frames) < config.clip_frames:
        return [], [], [_reject(source, "too_short",
                                f"{len(frames)} frames at {config.fps} fps < {config.clip_frames}")]
    stride = config.stride_frames_by_source.get(source["source_set"], config.default_stride_frames)
    runs = (0,) if retiming is None else retiming.run_starts
    starts = run_window_starts(runs, len(frames), config.clip_frames, stride,
                               config.max_clips_per_file)
    rows, clips, rejects = [], [], []
    if retiming is not None:
        rejects += _note_retiming(source, retiming, len(frames), config.clip_frames, starts)
        if not starts:
            return [], [], rejects
    for start in starts:
        clip = frames[start : start + config.clip_frames]  # (T, H, W, 3)
        motion = motion_score(clip)
        if motion < config.min_motion:
            rejects.append(_reject(source, "static", f"motion {motion:.5f} < {config.min_motion}",
                                   level="clip", clip_start=start))
            continue
        rows.append(_clip_row(source, probe, config, start, motion))
        clips.append(clip)
    if not rows:
        rejects.append(_reject(source, "static", "every window is below the motion threshold"))
    return rows, clips, rejects


def _clip_row(source: pd.Series, probe: pd.Series, config: CurationConfig, start: int,
              motion: float) -> dict:
    """The manifest row of the clip of `source` that starts at frame `start`."""
    return {
        "clip_id": f"{source['source_set']}/{source['clip_stem']}/{start:05d}",
        "source_set": source["source_set"],
        "source_file": source["file"],
        "source_sha256": probe["sha256"],
        "source_package": source["source_package"],
        "licence": source["licence"],
        "split_hint": source["split_hint"],
        "caption": source["caption"],
        "metadata": source["metadata"],
        "start_frame": start,
        "num_frames": config.clip_frames,
        "fps": float(config.fps),
        "width": config.width,
        "height": config.height,
        "motion": motion,
        "source_codec": probe["codec"],
        "source_fps": float(probe["fps"]),
        "source_width": int(probe["width"]),
        "source_height": int(probe["height"]),
    }


def _note_retiming(source: pd.Series, retiming: Retiming, num_frames: int, clip_frames: int,
                   starts: list[int]) -> list[dict]:
    """Logs how a file was retimed; returns the one row saying which of its frames gave no clip
    (runs between gaps shorter than a clip): at file level where none of them gave one."""
    name = f"{source['source_set']}/{source['file']}"
    if retiming.late_start_s >= 0.01:
        logger.info("%s: its video starts %.2f s into the file: decoded from its first frame, "
                    "not led by copies of it", name, retiming.late_start_s)
    if not retiming.gaps:
        return []
    longest = max(retiming.gaps, key=lambda gap: gap[1] - gap[0])
    gaps = (f"closed {len(retiming.gaps)} gap(s) of more than {retiming.max_hold_s:g} s between "
            f"frames (the longest, {_span(longest[1] - longest[0])}, after the frame at "
            f"{longest[0]:.3f} s)")
    logger.warning("%s: %s: %d frames decoded, no clip spans a gap", name, gaps, num_frames)
    short = [(first, end) for first, end in run_bounds(retiming.run_starts, num_frames)
             if 0 < end - first < clip_frames]
    if not starts:
        return [_reject(source, "too_short", f"{gaps}; no run of frames between them is as long "
                                             f"as one clip ({clip_frames} frames)")]
    if not short:
        return []
    runs = ", ".join(f"{first}-{end - 1}" for first, end in short[:5])
    more = f" and {len(short) - 5} more" if len(short) > 5 else ""
    return [_reject(source, "timestamp_gap",
                    f"{gaps}; {len(short)} run(s) between them shorter than one clip "
                    f"({clip_frames} frames) give no clip: frames {runs}{more}",
                    level="clip", clip_start=short[0][0])]


def _span(seconds: float) -> str:
    """A duration as a person reads it: 4.5 s, 3 min 20 s, 2 h 0 min."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min {int(seconds % 60)} s"
    return f"{minutes // 60} h {minutes % 60} min"


def plan_cuts(index: pd.DataFrame, probes: pd.DataFrame
              ) -> tuple[list[tuple[pd.Series, pd.Series]], list[dict]]:
    """What to decode: (source row, probe row) of every file but the exact duplicates, in index
    order, and the duplicates' reject rows. `probes` is `probe_videos(index)`: row i describes
    row i (a path may appear twice, through a link).

    Raises:
        ValueError: `probes` does not describe `index` row for row (the folder changed in between).
    """
    if probes["path"].tolist() != index["path"].tolist():
        raise ValueError("the probe table does not match the raw video index row for row (did "
                         "the folder change since it was probed?): run data_curation again")
    sources = index.reset_index(drop=True).assign(clip_stem=lambda t: clip_stems(t))
    probes = probes.reset_index(drop=True)
    duplicate_of = find_duplicates(sources, probes)
    jobs = [(sources.iloc[row], probes.iloc[row]) for row in range(len(sources))
            if row not in duplicate_of]
    duplicate_rejects = [_reject(sources.iloc[row], "duplicate", detail)
                         for row, detail in sorted(duplicate_of.items())]
    return jobs, duplicate_rejects


def cut_clips(index: pd.DataFrame, probes: pd.DataFrame, config: CurationConfig) -> CandidateClips:
    """Cut every usable file of `index` into scored clips, in parallel over files on a thread
    pool in this process (`curation_on_ray.cut_clips_on_ray`: the same on Ray tasks)."""
    jobs, duplicate_rejects = plan_cuts(index, probes)
    rows, frames, rejects = [], [], []
    with ThreadPoolExecutor(worker_count(config.num_workers)) as pool:
        results = pool.map(lambda job: cut_clips_from_file(*job, config), jobs)
        for file_rows, file_frames, file_rejects in tqdm(results, total=len(jobs),
                                                        desc="decode+cut", unit="file"):
            rows += file_rows
            frames += file_frames
            rejects += file_rejects
    shape = (0, config.clip_frames, config.height, config.width, 3)
    return CandidateClips(
        clips=pd.DataFrame(rows, columns=CLIP_COLUMNS),
        frames=np.stack(frames) if frames else np.zeros(shape, np.uint8),
        rejects=pd.DataFrame(duplicate_rejects + rejects, columns=REJECT_COLUMNS),
    )


def compute_curation_summary(index: pd.DataFrame, manifest: pd.DataFrame,
                             quarantine: pd.DataFrame) -> dict:
    """Counts for the closing log line and the DVC metrics file."""
    files = quarantine[quarantine["level"] == "file"]
    clips = quarantine[quarantine["level"] == "clip"]
    return {
        "files_in": int(len(index)),
        "files_quarantined": int(len(files)),
        "clips_out": int(len(manifest)),
        "clips_by_split": {k: int(v) for k, v in manifest["split"].value_counts().items()},
        "clips_by_source_set": {k: int(v) for k, v in
                                manifest["source_set"].value_counts().items()},
        "quarantined_files_by_reason": {k: int(v) for k, v in
                                        files["reason"].value_counts().items()},
        "quarantined_clips_by_reason": {k: int(v) for k, v in
                                        clips["reason"].value_counts().items()},
        "unique_captions": int(manifest["caption"].nunique()),
    }
