"""The raw video folders data_curation reads, local or on S3 (kept apart from `datasets.py`, which
every stage reads, so a change here reruns curation alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from seaweed_apt.data.mirror import mirror_folder
from seaweed_apt.data.raw_index import index_video_folder


class VideoFoldersDataset(AbstractDataset[None, pd.DataFrame]):
    """Raw videos with captions in one or more folders, keyed by source-set name.

    Loads a table of file references (see `seaweed_apt.data.raw_index`). An `s3://` folder is
    mirrored into `cache_dir` first, since ffmpeg reads local files; the mirror follows the
    remote listing (`seaweed_apt.data.mirror`).
    """

    def __init__(self, folders: dict[str, str], cache_dir: str = "data/01_raw/.remote_cache",
                 credentials: dict[str, Any] | None = None) -> None:
        if not folders:
            raise DatasetError("VideoFoldersDataset needs at least one entry under 'folders'")
        self._folders = dict(folders)
        self._cache_dir = Path(cache_dir)
        self._credentials = credentials or {}

    def _local_folder(self, source_set: str, folder: str) -> Path:
        if "://" not in folder:
            return Path(folder)
        import fsspec

        protocol = folder.split("://", 1)[0]
        filesystem = fsspec.filesystem(protocol, **self._credentials)
        local = self._cache_dir / source_set
        mirror_folder(filesystem, folder, local)  # follows the remote, deletions included
        return local

    def load(self) -> pd.DataFrame:
        tables = [index_video_folder(self._local_folder(name, folder), name)
                  for name, folder in self._folders.items()]
        return pd.concat(tables, ignore_index=True)

    def save(self, data: None) -> None:
        raise DatasetError("raw video folders are read-only: `seaweed-apt fetch-data` fills them")

    def _describe(self) -> dict[str, Any]:
        return {"folders": self._folders}

    def _exists(self) -> bool:
        return all("://" in f or Path(f).is_dir() for f in self._folders.values())
