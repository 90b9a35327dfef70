"""Files by URI: a local path or any fsspec URL (`s3://bucket/prefix/file`), so that what a Ray
worker opens is a name every node can reach, not a path only the driver's disk has.

Credentials and endpoints come from the environment, as every S3 client here reads them
(`AWS_ACCESS_KEY_ID`, an instance role, `AWS_ENDPOINT_URL` for MinIO or moto): s3fs, boto3, DVC
and pandas then agree on one store without a setting of ours.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def is_remote(uri: str | os.PathLike) -> bool:
    return "://" in str(uri) and not str(uri).startswith("file://")


def absolute(uri: str | os.PathLike) -> str:
    """A URI any process can open wherever it runs: a local path made absolute (a Ray worker
    starts in another working directory), a storage URL unchanged."""
    return str(uri) if is_remote(uri) else str(Path(uri).resolve())


def filesystem(uri: str | os.PathLike):
    """(fsspec filesystem, path inside it) for `uri`."""
    from fsspec.core import url_to_fs

    return url_to_fs(str(uri))


def join(uri: str | os.PathLike, *parts: str) -> str:
    """`uri` with `parts` appended: '/'-joined for a URL, os.path-joined for a local path."""
    if is_remote(uri):
        return posixpath.join(str(uri).rstrip("/"), *parts)
    return str(Path(uri, *parts))


def read_bytes(uri: str | os.PathLike) -> bytes:
    """Raises: FileNotFoundError naming `uri`."""
    fs, path = filesystem(uri)
    try:
        return fs.cat_file(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{uri} does not exist") from None


def write_bytes(uri: str | os.PathLike, data: bytes) -> None:
    """Write whole or not at all: a local file goes to a temporary name renamed into place; an
    object store's PUT is already all or nothing."""
    if is_remote(uri):
        fs, path = filesystem(uri)
        fs.pipe_file(path, data)
        return
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def sha256(uri: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (local or remote)."""
    import hashlib

    digest = hashlib.sha256()
    fs, path = filesystem(uri)
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def exists(uri: str | os.PathLike) -> bool:
    fs, path = filesystem(uri)
    return fs.exists(path)


def list_files(uri: str | os.PathLike) -> dict[str, str]:
    """Every file under the folder `uri`: relative path ('/'-separated) -> its URI."""
    fs, root = filesystem(uri)
    root = root.rstrip("/")
    if not fs.isdir(root):
        return {}
    found = {}
    for path in fs.find(root):
        relative = path[len(root):].lstrip("/")
        found[relative] = join(uri, *relative.split("/"))
    return found


@contextmanager
def local_copy(uri: str | os.PathLike) -> Iterator[Path]:
    """A local path to `uri`'s bytes for tools that read files (ffmpeg): the path itself when
    local, else a download to a temporary folder, removed on exit.

    Raises: FileNotFoundError naming `uri` when the object does not exist."""
    if not is_remote(uri):
        yield Path(uri)
        return
    fs, path = filesystem(uri)
    with tempfile.TemporaryDirectory(prefix="seaweed-apt-") as folder:
        local = Path(folder) / posixpath.basename(path)
        try:
            fs.get_file(path, str(local))
        except FileNotFoundError:
            raise FileNotFoundError(f"{uri} does not exist") from None
        yield local


def load_safetensors(uri: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of one `.safetensors` file, local or remote.

    Raises: FileNotFoundError naming `uri`."""
    from safetensors.numpy import load, load_file

    if not is_remote(uri):
        if not Path(uri).exists():
            raise FileNotFoundError(f"{uri} does not exist")
        return load_file(str(uri))  # memory-mapped reads, no copy of the whole file first
    return load(read_bytes(uri))
