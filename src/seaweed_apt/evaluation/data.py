"""Real clips for evaluation, read by path from the curated shards, with their item labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seaweed_apt import storage


@dataclass
class LabelledClips:
    frames: np.ndarray  # (N, T, H, W, 3) uint8
    captions: list[str]
    caption_index: np.ndarray  # (N,) row of the caption table
    labels: np.ndarray  # (N,) item class, -1 where the clip shows no single known item
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.captions)


def item_label(metadata: str) -> tuple[int, str] | None:
    """(label, class name) of a one-item moving-fashion clip from its metadata, else None."""
    try:
        meta = json.loads(metadata) if metadata else {}
    except json.JSONDecodeError:
        return None
    labels, classes = meta.get("labels") or [], meta.get("classes") or []
    if len(labels) != 1 or len(classes) != 1:
        return None
    return int(labels[0]), str(classes[0])


def class_names_of(manifest: pd.DataFrame) -> list[str]:
    """Index -> class name over every labelled clip of the manifest ("" for an unseen index)."""
    names: dict[int, str] = {}
    for meta in manifest["metadata"]:
        found = item_label(meta)
        if found:
            names[found[0]] = found[1]
    if not names:
        return []
    return [names.get(i, "") for i in range(max(names) + 1)]


def load_split_clips(manifest: pd.DataFrame, shards_dir: str | Path, split: str,
                     labelled_only: bool = True, limit: int = 0, seed: int = 0
                     ) -> LabelledClips:
    """Clips of one split. `limit` > 0 takes that many, spread evenly over the split (seeded)."""
    rows = manifest[manifest["split"] == split]
    found = [item_label(m) for m in rows["metadata"]]
    labels = np.array([f[0] if f else -1 for f in found], dtype=np.int64)
    if labelled_only:
        rows, labels = rows[labels >= 0], labels[labels >= 0]
    if len(rows) == 0:
        raise ValueError(f"no {'labelled ' if labelled_only else ''}clips in split {split!r}")
    if 0 < limit < len(rows):
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), limit, replace=False))
        rows, labels = rows.iloc[pick], labels[pick]
    frames = []
    for shard, group in rows.groupby("shard", sort=False):
        stored = storage.load_safetensors(
            storage.join(shards_dir, f"{shard}.safetensors"))["frames"]
        frames.append((group.index, stored[group["shard_offset"].to_numpy()]))
    order = {index: i for i, index in enumerate(rows.index)}
    stacked = np.empty((len(rows), *frames[0][1].shape[1:]), dtype=np.uint8)
    for index, block in frames:
        stacked[[order[i] for i in index]] = block
    return LabelledClips(stacked, rows["caption"].tolist(),
                         rows["caption_embedding_index"].to_numpy(np.int64), labels,
                         class_names_of(manifest))
