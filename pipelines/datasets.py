"""Kedro datasets for what kedro-datasets does not cover: safetensors, file trees, optional YAML.
(Raw video folders: `pipelines/video_folders.py`, read by data_curation alone.)

Each is a thin adapter over a library function; all writes are atomic (temp + rename).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from kedro.io import AbstractDataset, DatasetError


class SafetensorsDataset(AbstractDataset[dict, dict]):
    """A dict of numpy arrays in one `.safetensors` file."""

    def __init__(self, filepath: str, metadata: dict[str, str] | None = None) -> None:
        self._filepath = Path(filepath)
        self._metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        return load_file(str(self._filepath))

    def save(self, data: dict[str, np.ndarray]) -> None:
        from safetensors.numpy import save_file

        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        partial = self._filepath.with_name(f".{self._filepath.name}.partial")
        save_file({k: np.ascontiguousarray(v) for k, v in data.items()}, str(partial),
                  metadata=self._metadata)
        os.replace(partial, self._filepath)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def _exists(self) -> bool:
        return self._filepath.exists()


class FileTreeDataset(AbstractDataset[dict, dict]):
    """A folder written whole from {relative path: bytes}; the old folder is replaced at once."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def load(self) -> dict[str, bytes]:
        return {p.relative_to(self._path).as_posix(): p.read_bytes()
                for p in self._path.rglob("*") if p.is_file()}

    def save(self, data: dict[str, bytes]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self._path.name}.", dir=self._path.parent))
        for relative, content in data.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if self._path.exists():
            shutil.rmtree(self._path)
        staging.rename(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}

    def _exists(self) -> bool:
        return self._path.is_dir()


class PathDataset(AbstractDataset[None, str]):
    """Loads the absolute path of a file or folder, so a node can hand data to Ray workers by
    reference (workers read it themselves) while the path still lives in the catalog."""

    def __init__(self, path: str, must_exist: bool = True) -> None:
        self._path = Path(path)
        self._must_exist = must_exist
        self.optional = not must_exist  # created on load: the preflight hook does not ask for it

    def load(self) -> str:
        if self._must_exist and not self._path.exists():
            raise DatasetError(f"{self._path} does not exist: run the stage that writes it first")
        if not self._must_exist:
            self._path.mkdir(parents=True, exist_ok=True)
        return str(self._path.resolve())

    def save(self, data: None) -> None:
        raise DatasetError("a PathDataset only hands out its path")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}

    def _exists(self) -> bool:
        return self._path.exists()


class OptionalYAMLDataset(AbstractDataset[None, dict | None]):
    """A YAML file that may be absent (None then), such as dvc.lock before the first repro."""

    optional = True  # the preflight hook does not ask for it

    def __init__(self, filepath: str) -> None:
        self._filepath = Path(filepath)

    def load(self) -> dict | None:
        if not self._filepath.exists():
            return None
        return yaml.safe_load(self._filepath.read_text())

    def save(self, data: None) -> None:
        raise DatasetError("an OptionalYAMLDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def _exists(self) -> bool:
        return self._filepath.exists()
