"""Curated clips for one training worker, read from the shards by URI (a local path or
`s3://...`: `seaweed_apt.storage`), never handed over as tensors through Kedro or Ray."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from seaweed_apt import storage
from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.text.caption_table import load_caption_table


@dataclass
class ClipSet:
    frames: torch.Tensor  # (N, T, H, W, 3) uint8
    caption_row: torch.Tensor  # (N,) int64 row of the caption table
    caption_table: TextBatch  # (U, L, Dt), (U, L), (U, Dt)

    def __len__(self) -> int:
        return self.frames.shape[0]

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, TextBatch]:
        """Clips as (B, C, T, H, W) floats in [-1, 1] and their captions."""
        x = self.frames[indices].permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
        rows = self.caption_row[indices]
        text = self.caption_table.select(rows).float()
        return x, text

    def frame_batch(self, indices: torch.Tensor, rng: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, TextBatch]:
        """One random frame of each clip, as images (B, C, 1, H, W), with the clip's caption."""
        x, text = self.batch(indices)
        pick = torch.randint(x.shape[2], (x.shape[0],), generator=rng)
        return x[torch.arange(x.shape[0]), :, pick][:, :, None], text


def worker_shards(shard_names: list[str], rank: int, world_size: int) -> tuple[list[str], bool]:
    """This worker's own shards; with fewer shards than workers every worker reads all of them and
    takes every world_size-th clip instead (the second value says so)."""
    names = sorted(shard_names)
    if len(names) >= world_size:
        return names[rank::world_size], False
    return names, True


def load_worker_clips(clips: CuratedClips, rank: int = 0, world_size: int = 1,
                      split: str = "train") -> ClipSet:
    """This worker's share of the clips of `clips`' `split`, each with its caption's row of
    the caption table as its shard stores it (`caption_row`).

    Raises:
        ValueError: no shards of the split, a worker left with no clip, or a shard without
            `caption_row` (written before shards stored it: rerun data_curation)."""
    names, stride_clips = worker_shards(clips.shard_names(split), rank, world_size)
    frames, caption_rows = [], []
    for name in names:
        uri = storage.join(clips.shards_uri, f"{name}.safetensors")
        shard = storage.load_safetensors(uri)
        if "caption_row" not in shard:
            raise ValueError(f"{uri} has no caption_row: it was written by an older "
                             "data_curation; rerun it (dvc repro data_curation)")
        frames.append(shard["frames"])
        caption_rows.append(shard["caption_row"].astype(np.int64))
    if not frames:
        raise ValueError(f"no {split} shards under {clips.shards_uri}")
    all_frames, all_rows = np.concatenate(frames), np.concatenate(caption_rows)
    if stride_clips:
        all_frames, all_rows = all_frames[rank::world_size], all_rows[rank::world_size]
    if len(all_frames) == 0:
        raise ValueError(f"worker {rank} of {world_size} got no clips: add clips or workers fewer")
    return ClipSet(torch.from_numpy(np.ascontiguousarray(all_frames)),
                   torch.from_numpy(all_rows), load_caption_table(clips.caption_table_uri))
