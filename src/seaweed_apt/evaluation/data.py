"""Real clips for evaluation, read by path from the curated shards, with their item labels."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seaweed_apt import storage
from seaweed_apt.data.curated import CuratedClips


@dataclass
class LabelledClips:
    frames: np.ndarray  # (N, T, H, W, 3) uint8
    captions: list[str]
    caption_row: np.ndarray  # (N,) row of the caption table
    labels: np.ndarray  # (N,) item class, -1 where the clip shows no single known item
    class_names: list[str]
    axes: list[str]  # (N,) the motion axis its caption names, "" where unknown

    def __len__(self) -> int:
        return len(self.captions)


def clips_inputs(clips: LabelledClips) -> dict:
    """What a result computed from `clips` depends on, for `cache.result_key` (the caption
    table rows are left out: the captions are in)."""
    return {"frames": clips.frames, "captions": clips.captions, "labels": clips.labels,
            "class_names": clips.class_names, "axes": clips.axes}


def _metadata(metadata: str) -> dict:
    try:
        meta = json.loads(metadata) if metadata else {}
    except json.JSONDecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}


def item_label(metadata: str) -> tuple[int, str] | None:
    """(label, class name) of a one-item moving-fashion clip from its metadata, else None."""
    meta = _metadata(metadata)
    labels, classes = meta.get("labels") or [], meta.get("classes") or []
    if len(labels) != 1 or len(classes) != 1:
        return None
    return int(labels[0]), str(classes[0])


def item_axis(metadata: str) -> str:
    """The motion axis of a one-item clip ("horizontal", ...) from its metadata, else ""."""
    axes = _metadata(metadata).get("axes") or []
    return str(axes[0]) if len(axes) == 1 else ""


def compositions(manifest: pd.DataFrame) -> pd.Series:
    """Per row, "<label>/<axis>" of a one-item clip with both known, else ""."""
    found = [(item_label(m), item_axis(m)) for m in manifest["metadata"]]
    return pd.Series([f"{label[0]}/{axis}" if label and axis else "" for label, axis in found],
                     index=manifest.index)


def unseen_composition_mask(manifest: pd.DataFrame) -> pd.Series:
    """True for a row of a video composed from a held-out (item, axis) composition (its
    metadata's `held_out_composition`, written by moving_fashion, which keeps such compositions
    out of every train video; `test_held_out_compositions_never_reach_a_training_shard`)."""
    return pd.Series([bool(_metadata(m).get("held_out_composition", False))
                      for m in manifest["metadata"]], index=manifest.index, dtype=bool)


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


def load_split_clips(clips: CuratedClips, split: str, labelled_only: bool = True,
                     limit: int = 0, seed: int = 0,
                     compositions_seen: bool | None = None) -> LabelledClips:
    """Clips of one split of the curated clips, read from their shards. `limit` > 0 takes that
    many, spread evenly over the split (seeded). `compositions_seen` True keeps only clips of
    seen (item, axis) compositions, False only those of held-out ones
    (`unseen_composition_mask`), None every clip.

    Raises:
        ValueError: no clip is left.
    """
    manifest = clips.manifest
    keep = manifest["split"] == split
    if compositions_seen is not None:
        keep &= unseen_composition_mask(manifest) != compositions_seen
    rows = manifest[keep]
    found = [item_label(m) for m in rows["metadata"]]
    labels = np.array([f[0] if f else -1 for f in found], dtype=np.int64)
    if labelled_only:
        rows, labels = rows[labels >= 0], labels[labels >= 0]
    if len(rows) == 0:
        which = {None: "", True: " of seen compositions",
                 False: " of held-out compositions"}[compositions_seen]
        raise ValueError(f"no {'labelled ' if labelled_only else ''}clips{which} in split "
                         f"{split!r}")
    if 0 < limit < len(rows):
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), limit, replace=False))
        rows, labels = rows.iloc[pick], labels[pick]
    frames = []
    for shard, group in rows.groupby("shard", sort=False):
        stored = storage.load_safetensors(
            storage.join(clips.shards_uri, f"{shard}.safetensors"))["frames"]
        frames.append((group.index, stored[group["shard_offset"].to_numpy()]))
    order = {index: i for i, index in enumerate(rows.index)}
    stacked = np.empty((len(rows), *frames[0][1].shape[1:]), dtype=np.uint8)
    for index, block in frames:
        stacked[[order[i] for i in index]] = block
    return LabelledClips(stacked, rows["caption"].tolist(),
                         rows["caption_row"].to_numpy(np.int64), labels,
                         class_names_of(manifest), [item_axis(m) for m in rows["metadata"]])
