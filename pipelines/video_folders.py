"""The raw video folders data_curation reads, local or on S3 (kept apart from `datasets.py`, which
every stage reads, so a change here reruns curation alone)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from seaweed_apt import storage
from seaweed_apt.data.raw_index import index_video_folder


class VideoFoldersDataset(AbstractDataset[None, pd.DataFrame]):
    """Raw videos with captions in one or more folders, keyed by source-set name.

    Loads a table of file references (see `seaweed_apt.data.raw_index`). A folder may be a
    storage URI (`s3://bucket/prefix/`, credentials and `AWS_ENDPOINT_URL` from the environment):
    its files are listed, not copied, and each is fetched by the Ray task that probes or decodes
    it, on whichever node that runs. Every load lists the folder again, so a video deleted from
    it is gone from the next run.
    """

    def __init__(self, folders: dict[str, str]) -> None:
        if not folders:
            raise DatasetError("VideoFoldersDataset needs at least one entry under 'folders'")
        self._folders = dict(folders)

    def load(self) -> pd.DataFrame:
        tables = [index_video_folder(folder, name) for name, folder in self._folders.items()]
        return pd.concat(tables, ignore_index=True)

    def save(self, data: None) -> None:
        raise DatasetError("raw video folders are read-only: `seaweed-apt fetch-data` fills them")

    def _describe(self) -> dict[str, Any]:
        return {"folders": self._folders}

    def _exists(self) -> bool:
        return all(storage.exists(folder) for folder in self._folders.values())
