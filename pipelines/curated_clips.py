"""The Kedro dataset of the curated clips: one catalog name for the manifest, the shards and the
caption table (saved together by data_curation, loaded as a `CuratedClips` handle)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from pipelines.datasets import SafetensorsDataset
from seaweed_apt import storage
from seaweed_apt.data.curated import CuratedClips, CuratedClipsParts

SHARD_SUFFIX = ".safetensors"


class CuratedClipsDataset(AbstractDataset[CuratedClipsParts, CuratedClips]):
    """`manifest` (a parquet file), `shards` (a folder of safetensors files) and `caption_table`
    (a safetensors file), each a local path or a storage URI.

    Saving writes the shards one at a time (shards the new set lacks are deleted), then the
    caption table, then the manifest last: a manifest on disk always names shards that exist.
    Loading reads the manifest and hands out the two URIs."""

    def __init__(self, manifest: str, shards: str, caption_table: str) -> None:
        self._manifest, self._shards, self._caption_table = str(manifest), str(shards), \
            str(caption_table)

    def load(self) -> CuratedClips:
        if not self._exists():
            raise DatasetError(f"{self._manifest} does not exist: run data_curation first")
        manifest = pd.read_parquet(io.BytesIO(storage.read_bytes(self._manifest)))
        return CuratedClips(manifest, storage.absolute(self._shards),
                            storage.absolute(self._caption_table))

    def save(self, data: CuratedClipsParts) -> None:
        stale = {relative for relative in storage.list_files(self._shards)
                 if relative.endswith(SHARD_SUFFIX)} - {f"{name}{SHARD_SUFFIX}"
                                                        for name in data.shards}
        for name, shard in data.shards.items():
            SafetensorsDataset(storage.join(self._shards, f"{name}{SHARD_SUFFIX}")).save(
                shard() if callable(shard) else shard)
        for relative in sorted(stale):
            fs, path = storage.filesystem(storage.join(self._shards, relative))
            fs.rm(path)
        SafetensorsDataset(self._caption_table).save(data.caption_table)
        buffer = io.BytesIO()
        data.manifest.to_parquet(buffer, index=False)
        storage.write_bytes(self._manifest, buffer.getvalue())

    def _describe(self) -> dict[str, Any]:
        return {"manifest": self._manifest, "shards": self._shards,
                "caption_table": self._caption_table}

    def _exists(self) -> bool:
        return storage.exists(self._manifest)
