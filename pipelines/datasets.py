"""Kedro datasets for what kedro-datasets does not cover: safetensors, file trees, paths handed to
Ray workers, optional YAML. (Raw video folders: `pipelines/video_folders.py`, read by
data_curation alone; model files: `pipelines/model_files.py`, read by the stages that train or
serve a network.)

Each is a thin adapter over `seaweed_apt.storage`, so every one takes a local path or a storage
URI (`s3://bucket/prefix/...`, credentials from the environment) as kedro-datasets' own types
do; `data_root: s3://...` then moves every stage's data to the store. Local writes are atomic
(temporary name, then rename); an object store's PUT already is.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from kedro.io import AbstractDataset, DatasetError

from seaweed_apt import storage


class SafetensorsDataset(AbstractDataset[dict, dict]):
    """A dict of numpy arrays in one `.safetensors` file."""

    def __init__(self, filepath: str, metadata: dict[str, str] | None = None) -> None:
        self._filepath = str(filepath)
        self._metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        return storage.load_safetensors(self._filepath)

    def save(self, data: dict[str, np.ndarray]) -> None:
        from safetensors.numpy import save

        arrays = {key: np.ascontiguousarray(value) for key, value in data.items()}
        storage.write_bytes(self._filepath, save(arrays, metadata=self._metadata))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}

    def _exists(self) -> bool:
        return storage.exists(self._filepath)


class SafetensorsFileDataset(SafetensorsDataset):
    """A dict of numpy arrays saved in one `.safetensors` file, loaded as the file's URI (absolute
    where local), so that a node hands it to Ray workers by reference under the one name that
    wrote it."""

    def load(self) -> str:  # type: ignore[override]
        if not self._exists():
            raise DatasetError(f"{self._filepath} does not exist: run the stage that writes it")
        return storage.absolute(self._filepath)


class FileTreeDataset(AbstractDataset[dict, dict]):
    """A folder written whole from {relative path: bytes}. Locally the old folder is replaced at
    once; on an object store each file is put, then the files the new tree lacks are deleted."""

    def __init__(self, path: str) -> None:
        self._path = str(path)

    def load(self) -> dict[str, bytes]:
        return {relative: storage.read_bytes(uri)
                for relative, uri in storage.list_files(self._path).items()}

    def save(self, data: dict[str, bytes]) -> None:
        if storage.is_remote(self._path):
            stale = set(storage.list_files(self._path)) - set(data)
            for relative, content in data.items():
                storage.write_bytes(storage.join(self._path, *relative.split("/")), content)
            if stale:
                fs, root = storage.filesystem(self._path)
                fs.rm([f"{root.rstrip('/')}/{relative}" for relative in sorted(stale)])
            return
        path = Path(self._path)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        for relative, content in data.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if path.exists():
            shutil.rmtree(path)
        staging.rename(path)

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}

    def _exists(self) -> bool:
        return bool(storage.list_files(self._path))


class PathDataset(AbstractDataset[None, str]):
    """Loads the URI of a file or folder (an absolute local path, or `s3://...` unchanged), so a
    node hands data to Ray workers by reference (workers read it themselves) while the location
    still lives in the catalog."""

    def __init__(self, path: str, must_exist: bool = True) -> None:
        self._path = str(path)
        self._must_exist = must_exist
        self.optional = not must_exist  # created on load: the preflight hook does not ask for it

    def load(self) -> str:
        if self._must_exist and not self._exists():
            raise DatasetError(f"{self._path} does not exist: run the stage that writes it first")
        if storage.is_remote(self._path):
            return self._path  # an object store has no folders to create
        if not self._must_exist:
            Path(self._path).mkdir(parents=True, exist_ok=True)
        return str(Path(self._path).resolve())

    def save(self, data: None) -> None:
        raise DatasetError("a PathDataset only hands out its path")

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}

    def _exists(self) -> bool:
        return storage.exists(self._path)


class OptionalYAMLDataset(AbstractDataset[None, dict | None]):
    """A YAML file that may be absent (None then), such as dvc.lock before the first repro."""

    optional = True  # the preflight hook does not ask for it

    def __init__(self, filepath: str) -> None:
        self._filepath = str(filepath)

    def load(self) -> dict | None:
        if not storage.exists(self._filepath):
            return None
        return yaml.safe_load(storage.read_bytes(self._filepath))

    def save(self, data: None) -> None:
        raise DatasetError("an OptionalYAMLDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}

    def _exists(self) -> bool:
        return storage.exists(self._filepath)
