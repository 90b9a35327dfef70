"""Object stores under the registry: a local folder (default) or S3 through boto3.

Both offer the same calls on string keys. Every write is whole: a reader sees the old object or
the new one, never half (a temp file then a rename or a hard link on disk; a single PUT on S3).
Two writes are conditional, so that concurrent writers cannot overwrite each other unseen:
`create` only where nothing is (an exclusive create), `replace_if` only where the object is still
the one read (compare-and-swap on the tag `get_tagged` gave).

Only "not found" means absent (`ObjectMissing`). Any other failure of the store (throttling,
a 5xx, a timeout, a denied request) is retried with backoff, then raised as `RegistryError`
naming the object: reading it as "absent" once let the promotion gate take a throttled
production lookup for "no production model" (issue 36)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class RegistryError(Exception):
    """A missing version, a tampered object, or a registry that cannot be reached."""


class ObjectMissing(RegistryError):
    """The object does not exist: the one store error that means "absent"."""


class ObjectStore(Protocol):
    """Every call raises RegistryError naming the object when the store fails (after its
    retries); `get` raises ObjectMissing where the object does not exist."""

    def create(self, key: str, data: bytes) -> bool: ...
    def get(self, key: str) -> bytes: ...
    def get_tagged(self, key: str) -> tuple[bytes, str] | None: ...
    def replace_if(self, key: str, data: bytes, tag: str | None) -> bool: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...


class LocalStore:
    """A folder; safe for threads and processes on one machine (exclusive creates by hard
    link, an flock around each compare-and-swap). On a network file system, only as safe as
    its hard links and flock are."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalStore({self.root})"

    def _staged(self, path: Path, data: bytes) -> str:
        """`data` in a hidden temp file beside `path`, on disk (fsync) before anyone sees it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
        return staging

    def create(self, key: str, data: bytes) -> bool:
        """Write `key` only if it does not exist; False (nothing written) if it does."""
        path = self.root / key
        staging = self._staged(path, data)
        try:
            os.link(staging, path)  # atomic, and fails where `path` exists
        except FileExistsError:
            return False
        finally:
            Path(staging).unlink(missing_ok=True)
        return True

    def get(self, key: str) -> bytes:
        """Raises ObjectMissing where `key` does not exist, RegistryError where it cannot be
        read."""
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(f"{self.root / key} does not exist") from None
        except OSError as error:
            raise RegistryError(f"{self.root / key} cannot be read: {error}") from None

    def get_tagged(self, key: str) -> tuple[bytes, str] | None:
        """(data, its sha256) or None where `key` does not exist."""
        try:
            data = self.get(key)
        except ObjectMissing:
            return None
        return data, hashlib.sha256(data).hexdigest()

    @contextlib.contextmanager
    def _locked(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f".{path.name}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one open file each: excludes threads too
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def replace_if(self, key: str, data: bytes, tag: str | None) -> bool:
        """Write `key` only if it is still the object `get_tagged` returned with `tag` (None:
        only if it does not exist); False (nothing written) otherwise."""
        path = self.root / key
        with self._locked(path):
            current = self.get_tagged(key)
            if (current[1] if current else None) != tag:
                return False
            os.replace(self._staged(path, data), path)
        return True

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*")
                      if p.is_file() and not p.name.startswith("."))


NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
# 412: the condition failed; 409: a concurrent conditional write to the same key (S3 asks the
# caller to retry): both mean another writer got there first.
LOST_RACE = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}


class S3Store:
    """S3 or an S3-compatible store that honours conditional writes (If-None-Match and If-Match
    on PUT: AWS S3, MinIO, moto 5); every call goes through botocore's standard retry mode."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 max_attempts: int | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.endpoint_url = endpoint_url
        # Standard mode retries throttling (503 SlowDown), 5xx and timeouts with exponential
        # backoff and jitter; None: botocore's own number of attempts.
        retries = {"mode": "standard"} | ({"total_max_attempts": max_attempts}
                                          if max_attempts else {})
        self.client = boto3.client("s3", endpoint_url=endpoint_url,
                                   config=Config(retries=retries, connect_timeout=5,
                                                 read_timeout=60))

    def __repr__(self) -> str:
        return f"S3Store(s3://{self.bucket}/{self.prefix} at {self.endpoint_url or 'AWS'})"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, operation: str, key: str, **kwargs):
        """`client.<operation>` on `key`. Raises ObjectMissing on "not found", _LostRace on a
        failed condition, RegistryError naming the object on anything else (after botocore's
        retries)."""
        from botocore.exceptions import BotoCoreError, ClientError

        url = f"s3://{self.bucket}/{self._key(key)}"
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, Key=self._key(key),
                                                   **kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in NOT_FOUND:
                raise ObjectMissing(f"{url} does not exist") from None
            if code in LOST_RACE:
                raise _LostRace(url) from None
            raise RegistryError(f"{operation} {url} failed ({code}) after "
                                f"{_attempts(error)}: {error}") from None
        except BotoCoreError as error:
            raise RegistryError(f"{operation} {url} failed: {error}") from None

    def create(self, key: str, data: bytes) -> bool:
        """Write `key` only if it does not exist (If-None-Match: *); False if it does."""
        try:
            self._call("put_object", key, Body=data, IfNoneMatch="*")
        except _LostRace:
            return False
        return True

    def get(self, key: str) -> bytes:
        """Raises ObjectMissing where `key` does not exist, RegistryError on any other error."""
        return self._read(key)[0]

    def _read(self, key: str) -> tuple[bytes, str]:
        from botocore.exceptions import BotoCoreError

        answer = self._call("get_object", key)
        try:
            return answer["Body"].read(), answer["ETag"]
        except BotoCoreError as error:
            raise RegistryError(f"reading s3://{self.bucket}/{self._key(key)} failed: "
                                f"{error}") from None

    def get_tagged(self, key: str) -> tuple[bytes, str] | None:
        """(data, its ETag) or None where `key` does not exist."""
        try:
            return self._read(key)
        except ObjectMissing:
            return None

    def replace_if(self, key: str, data: bytes, tag: str | None) -> bool:
        """Write `key` only if its ETag is still `tag` (If-Match; None: If-None-Match: *);
        False (nothing written) otherwise."""
        condition = {"IfMatch": tag} if tag is not None else {"IfNoneMatch": "*"}
        try:
            self._call("put_object", key, Body=data, **condition)
        except (_LostRace, ObjectMissing):  # changed, or deleted, since it was read
            return False
        return True

    def exists(self, key: str) -> bool:
        """Raises RegistryError on any error but "not found"."""
        try:
            self._call("head_object", key)
        except ObjectMissing:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        """Raises RegistryError naming the prefix on any error (after botocore's retries)."""
        from botocore.exceptions import BotoCoreError, ClientError

        keys, strip = [], len(self._key("")) if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                keys += [item["Key"][strip:] for item in page.get("Contents", [])]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise RegistryError(f"listing s3://{self.bucket}/{self._key(prefix)} failed "
                                f"({code}) after {_attempts(error)}: {error}") from None
        except BotoCoreError as error:
            raise RegistryError(f"listing s3://{self.bucket}/{self._key(prefix)} failed: "
                                f"{error}") from None
        return sorted(keys)


class _LostRace(RegistryError):
    """A conditional write found the object changed (S3 412 or 409)."""


def _attempts(error) -> str:
    retries = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    return f"{retries + 1} attempt{'s' if retries else ''}"


def open_store(uri: str, endpoint_url: str | None = None,
               max_attempts: int | None = None) -> ObjectStore:
    """`s3://bucket/prefix` -> S3Store (`max_attempts` per call: deployment.registry's);
    a path (or `file://path`) -> LocalStore.

    Raises:
        ValueError: a URI of another scheme, or a bucket name shorter than 3 characters.
    """
    if uri.startswith("s3://"):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if len(bucket) < 3:
            raise ValueError(f"registry.uri={uri!r}: an S3 bucket name has 3 or more characters")
        return S3Store(bucket, prefix, endpoint_url, max_attempts)
    if "://" in uri and not uri.startswith("file://"):
        raise ValueError(f"registry.uri={uri!r}: use a folder path or s3://bucket/prefix")
    return LocalStore(uri.removeprefix("file://"))
