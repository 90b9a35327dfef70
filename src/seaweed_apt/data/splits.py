"""Train/val/test by source video, so no window of one source lands in two splits."""

from __future__ import annotations

import hashlib

import pandas as pd

from seaweed_apt.config.curation import SplitConfig

SPLITS = ("train", "val", "test")


def _stable_order(sources: list[str], seed: int) -> list[str]:
    return sorted(sources, key=lambda s: hashlib.sha256(f"{seed}:{s}".encode()).hexdigest())


def _allocate(sources: list[str], fractions: dict[str, float], seed: int) -> dict[str, str]:
    """Assign whole sources to splits by fraction; a non-zero fraction gets at least one source
    whenever there are enough sources to leave one for training."""
    ordered = _stable_order(sources, seed)
    assignment, cursor = {}, 0
    for split, fraction in fractions.items():
        count = round(len(ordered) * fraction)
        if fraction > 0 and count == 0 and len(ordered) > len(fractions):
            count = 1
        for source in ordered[cursor : cursor + count]:
            assignment[source] = split
        cursor += count
    assignment.update({source: "train" for source in ordered[cursor:]})
    return assignment


def assign_splits(clips: pd.DataFrame, config: SplitConfig) -> pd.DataFrame:
    """Add a `split` column. A source's `split_hint` wins: "test" stays test, "train" may become
    val; sources without a hint are spread over all three splits."""
    keys = clips["source_set"] + "/" + clips["source_file"]
    hints = dict(zip(keys, clips["split_hint"].fillna(""), strict=False))
    assignment = {source: "test" for source, hint in hints.items() if hint == "test"}
    train_hinted = [s for s, hint in hints.items() if hint == "train"]
    assignment |= _allocate(train_hinted, {"val": config.val_fraction}, config.seed)
    free = [s for s, hint in hints.items() if hint not in ("train", "test")]
    assignment |= _allocate(
        free, {"test": config.test_fraction, "val": config.val_fraction}, config.seed
    )
    return clips.assign(split=keys.map(assignment).astype(str))
