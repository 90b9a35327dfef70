"""Curation's probe and decode/cut on Ray tasks: ffmpeg runs in the workers, wherever they are,
and each task writes its clips to one candidate part under a storage URI, so no process stacks
every clip in memory and a cluster's nodes share the work. Rows come back in index order, so the
manifest is row for row the thread pool's (`curation.cut_clips`).

Ray tasks rather than Ray Data: a share of files is the unit of work and of output (one part
file), the order must be the index's, and `seaweed_apt.ray_map` already gives each task a
worker's resources and a progress bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seaweed_apt import storage
from seaweed_apt.config.curation import CurationConfig
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.data.curation import (
    CLIP_COLUMNS,
    REJECT_COLUMNS,
    cut_clips_from_file,
    plan_cuts,
    probe_one,
    probe_table,
)
from seaweed_apt.ray_map import map_shares, split_evenly

CANDIDATE_COLUMNS = [*CLIP_COLUMNS, "candidate_part", "candidate_offset"]


def part_file(candidates_uri: str, part: int) -> str:
    return storage.join(candidates_uri, f"part-{part:05d}.safetensors")


def _probe_share(_, paths: list[str]) -> list[dict]:
    return [probe_one(path) for path in paths]


def probe_videos_on_ray(index: pd.DataFrame, ray_config: RayConfig, files_per_task: int
                        ) -> pd.DataFrame:
    """`curation.probe_videos` on Ray tasks of `files_per_task` files: row for row with
    `index`, a path indexed twice probed once."""
    def probe_all(paths: list[str]) -> list[dict]:
        shares = [paths[part] for part in
                  split_evenly(len(paths), -(-len(paths) // files_per_task))]
        return [row for share in map_shares(_probe_share, None, shares, ray_config, "probe")
                for row in share]

    return probe_table(index, probe_all)


def _cut_share(shared: tuple[CurationConfig, str], share: tuple[int, list]) -> tuple[list, list]:
    """Decode and cut one share of files; its clips go to one candidate part file."""
    config, candidates_uri = shared
    part, jobs = share
    rows, clips, rejects = [], [], []
    for source, probe in jobs:
        file_rows, file_clips, file_rejects = cut_clips_from_file(pd.Series(source),
                                                                  pd.Series(probe), config)
        rows += file_rows
        clips += file_clips
        rejects += file_rejects
    if clips:
        from safetensors.numpy import save

        storage.write_bytes(part_file(candidates_uri, part), save({"frames": np.stack(clips)}))
    for offset, row in enumerate(rows):
        row.update(candidate_part=part, candidate_offset=offset)
    return rows, rejects


def cut_clips_on_ray(index: pd.DataFrame, probes: pd.DataFrame, config: CurationConfig,
                     ray_config: RayConfig, candidates_uri: str, files_per_task: int
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`curation.cut_clips` on Ray tasks of `files_per_task` files, each writing its clips to
    `candidates_uri/part-NNNNN.safetensors` (`frames` (n, T, H, W, 3) uint8); parts left by an
    earlier run are removed first.

    Returns:
        candidate clips (CLIP_COLUMNS + `candidate_part`, `candidate_offset`: where its frames
        are), and the reject rows (REJECT_COLUMNS).
    """
    jobs, duplicate_rejects = plan_cuts(index, probes)
    remove_parts(candidates_uri)
    plain = [(source.to_dict(), probe.to_dict()) for source, probe in jobs]
    shares = [(number, plain[part]) for number, part in
              enumerate(split_evenly(len(plain), max(1, -(-len(plain) // files_per_task))))]
    results = map_shares(_cut_share, (config, storage.absolute(candidates_uri)), shares,
                         ray_config, "decode+cut")
    rows = [row for share_rows, _ in results for row in share_rows]
    rejects = [row for _, share_rejects in results for row in share_rejects]
    return (pd.DataFrame(rows, columns=CANDIDATE_COLUMNS),
            pd.DataFrame(duplicate_rejects + rejects, columns=REJECT_COLUMNS))


def remove_parts(candidates_uri: str) -> None:
    """Delete the part files an earlier run left under `candidates_uri`."""
    stale = [uri for relative, uri in storage.list_files(candidates_uri).items()
             if relative.startswith("part-")]
    for uri in stale:
        fs, path = storage.filesystem(uri)
        fs.rm_file(path)


def read_candidate_frames(candidates_uri: str, parts: np.ndarray, offsets: np.ndarray
                          ) -> np.ndarray:
    """Frames (n, T, H, W, 3) uint8 of the candidates at (`parts[i]`, `offsets[i]`), each part
    read once."""
    frames = None
    for part in np.unique(parts):
        stored = storage.load_safetensors(part_file(candidates_uri, int(part)))["frames"]
        if frames is None:
            frames = np.empty((len(parts), *stored.shape[1:]), dtype=stored.dtype)
        mask = parts == part
        frames[mask] = stored[offsets[mask]]
    return frames
