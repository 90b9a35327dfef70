"""Clip shards: uint8 tensors grouped per split, read back by path in training workers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seaweed_apt.data.splits import SPLITS


def shard_clips(manifest: pd.DataFrame, frames: np.ndarray, frame_row: pd.Series,
                shard_size: int) -> tuple[pd.DataFrame, dict[str, dict[str, np.ndarray]]]:
    """Group clips into shards named `<split>-<nnnnn>`.

    Args:
        manifest: the validated clips, with a `split` column.
        frames: (N, T, H, W, 3) uint8 candidate frames.
        frame_row: for each manifest row, its row in `frames`.
        shard_size: clips per shard.

    Returns:
        The manifest with `shard` and `shard_offset` columns, and shard name -> tensors
        (`frames` (n, T, H, W, 3) uint8, `clip_row` (n,) int64 row of the manifest).
    """
    manifest = manifest.reset_index(drop=True)
    shard_names = pd.Series("", index=manifest.index)
    offsets = pd.Series(-1, index=manifest.index)
    shards = {}
    for split in SPLITS:
        rows = manifest.index[manifest["split"] == split].to_numpy()
        for number, begin in enumerate(range(0, len(rows), shard_size)):
            chunk = rows[begin : begin + shard_size]
            name = f"{split}-{number:05d}"
            shards[name] = {
                "frames": np.ascontiguousarray(frames[frame_row.to_numpy()[chunk]]),
                "clip_row": chunk.astype(np.int64),
            }
            shard_names[chunk] = name
            offsets[chunk] = np.arange(len(chunk))
    return manifest.assign(shard=shard_names, shard_offset=offsets.astype("int64")), shards


def caption_index(captions: pd.Series) -> tuple[pd.Series, list[str]]:
    """Each caption's row in the table of unique captions (embedded once each)."""
    codes, uniques = pd.factorize(captions, sort=True)
    return pd.Series(codes.astype("int64"), index=captions.index), [str(c) for c in uniques]
