"""The curated clips as one artifact: the clip manifest, the clip shards and the caption table,
written together by data_curation and read by every later stage through one handle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CuratedClips:
    """The curated clips at their storage URIs (absolute local paths or `s3://...`), so that a
    node hands them to Ray workers by reference.

    `manifest`: one row per clip (docs/pipeline.md, data_curation's "Outputs"), with `shard`,
    `shard_offset` and `caption_row`; `shards_uri`: a folder of `<split>-<nnnnn>.safetensors`,
    each `frames` (n, T, H, W, 3) uint8, `clip_row` (n,) int64 row of the manifest and
    `caption_row` (n,) int64 row of the caption table; `caption_table_uri`: the caption table
    (`text.caption_table`)."""

    manifest: pd.DataFrame
    shards_uri: str
    caption_table_uri: str

    @property
    def clip_shape(self) -> tuple[int, int, int]:
        """(frames, height, width) in pixels, the same for every clip."""
        first = self.manifest.iloc[0]
        return int(first["num_frames"]), int(first["height"]), int(first["width"])

    def shard_names(self, split: str = "train") -> list[str]:
        """The shards holding `split`'s clips, sorted (`<split>-<nnnnn>`, no suffix)."""
        return sorted(self.manifest.loc[self.manifest["split"] == split, "shard"].unique())

    def count(self, split: str = "train") -> int:
        """How many clips `split` has."""
        return int((self.manifest["split"] == split).sum())


@dataclass(frozen=True)
class CuratedClipsParts:
    """What data_curation writes as the curated clips: the manifest; each shard's arrays, or a
    function making them (called when that shard is written, so one is in memory at once); and
    the caption table's arrays (`text.caption_table.caption_table_arrays`)."""

    manifest: pd.DataFrame
    shards: dict[str, Callable[[], dict[str, np.ndarray]] | dict[str, np.ndarray]]
    caption_table: dict[str, np.ndarray]
