"""Clip shards: uint8 frame arrays grouped per split, read back by URI in training workers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from seaweed_apt.data.splits import SPLITS


def shard_clips(manifest: pd.DataFrame, read_frames: Callable[[pd.DataFrame], np.ndarray],
                shard_size: int) -> tuple[pd.DataFrame, dict[str, Callable[[], dict]]]:
    """Group clips into shards named `<split>-<nnnnn>`, each made only when it is saved.

    Args:
        manifest: the validated clips, with `split` and `caption_row` columns.
        read_frames: manifest rows -> their frames (n, T, H, W, 3) uint8, in row order.
        shard_size: clips per shard.

    Returns:
        The manifest with `shard` and `shard_offset` columns, and shard name -> a function making
        its arrays (`frames` (n, T, H, W, 3) uint8, `clip_row` (n,) int64 row of the manifest,
        `caption_row` (n,) int64 row of the caption table, so a shard alone says each clip's
        caption): `pipelines.curated_clips.CuratedClipsDataset` calls each as it writes that
        shard, so one shard is in memory at once.
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
            shards[name] = partial(_make_shard, read_frames, manifest.iloc[chunk],
                                   chunk.astype(np.int64))
            shard_names[chunk] = name
            offsets[chunk] = np.arange(len(chunk))
    return manifest.assign(shard=shard_names, shard_offset=offsets.astype("int64")), shards


def _make_shard(read_frames: Callable[[pd.DataFrame], np.ndarray], rows: pd.DataFrame,
                clip_row: np.ndarray) -> dict[str, np.ndarray]:
    return {"frames": np.ascontiguousarray(read_frames(rows)), "clip_row": clip_row,
            "caption_row": rows["caption_row"].to_numpy(np.int64)}


def caption_rows(captions: pd.Series) -> tuple[pd.Series, list[str]]:
    """Each caption's row in the table of unique captions (embedded once each)."""
    codes, uniques = pd.factorize(captions, sort=True)
    return pd.Series(codes.astype("int64"), index=captions.index), [str(c) for c in uniques]
