"""The pipeline's outputs under a data root (`data/` after `dvc repro`), as the benchmarks read
them: the paths are conf/base/catalog's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seaweed_apt.data.curated import CuratedClips


def curated_clips(data: str | Path) -> CuratedClips:
    """The curated clips under `data`, as the `curated_clips` dataset loads them."""
    data = Path(data)
    return CuratedClips(pd.read_parquet(data / "03_primary" / "clip_manifest.parquet"),
                        str((data / "03_primary" / "clip_shards").absolute()),
                        str((data / "04_feature" / "caption_embeddings.safetensors").absolute()))
