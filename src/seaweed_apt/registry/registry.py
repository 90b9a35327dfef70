"""The model registry: immutable versions and a `production` pointer with its history.

Layout in the store:
    versions/<v0001>/claim.json                       who took the number: created first, and
                                                      only where nothing is (an exclusive create)
    versions/<v0001>/model.safetensors, config.json   the deployable files
    versions/<v0001>/manifest.json                    sha256 of each file, metrics, lineage,
                                                      generation settings; written last, so a
                                                      version without it is incomplete
    pointers/production.json                          {"version", "history", "updated_at", "reason",
                                                       "change_id"}

Concurrent writers lose nothing (issue 36): a registration takes the next number no key uses yet
and claims it with an exclusive create (a lost race takes the next one); every object under a
version is created once, never overwritten; the pointer changes only by compare-and-swap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import EllipsisType
from typing import TYPE_CHECKING

from seaweed_apt.registry.stores import ObjectMissing, ObjectStore, RegistryError, open_store

if TYPE_CHECKING:
    from seaweed_apt.config.deployment import RegistryConfig

logger = logging.getLogger(__name__)

MANIFEST, CLAIM = "manifest.json", "claim.json"
PRODUCTION = "pointers/production.json"
VERSION_PATTERN = re.compile(r"^v([0-9]{4,})\Z")
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")  # plain: no folder, "..", hidden file


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def strict_json(value):
    """NaN and infinities (a ratio over a zero) as null: manifests must be valid JSON for any
    reader, not only Python's."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    return value


def is_known(value) -> bool:
    """A finite number: not missing, not null (how a NaN is stored, `strict_json`), not text."""
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value)


def metric_text(value, spec: str) -> str:
    """A manifest figure for people: `spec`-formatted, or "n/a" where it is not `is_known`."""
    return format(value, spec) if is_known(value) else "n/a"


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ProductionMoved(RegistryError):
    """The production pointer changed between reading it and writing it (another promotion or
    rollback): nothing was written."""


class UnresolvedProduction(RegistryError):
    """The production pointer names a version that has no manifest: nothing can be served from
    it or compared with it."""

    def __init__(self, message: str, version) -> None:
        super().__init__(message)
        self.version = version


@dataclass(frozen=True)
class ModelVersion:
    version: str
    manifest: dict

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})

    @property
    def lineage(self) -> dict:
        return self.manifest.get("lineage", {})


class ModelRegistry:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"ModelRegistry({self.store!r})"

    # -- versions ---------------------------------------------------------------------------
    def _numbered(self) -> set[str]:
        """Every version any key uses: complete, being registered, or left incomplete."""
        found = {key.split("/")[1] for key in self.store.list("versions/") if key.count("/") >= 2}
        return {v for v in found if VERSION_PATTERN.match(v)}

    def versions(self) -> list[str]:
        """Complete versions (those with a manifest), oldest first. Raises RegistryError when
        the store cannot be listed."""
        found = {key.split("/")[1] for key in self.store.list("versions/")
                 if key.endswith(f"/{MANIFEST}")}
        return sorted(v for v in found if VERSION_PATTERN.match(v))

    def incomplete(self) -> list[str]:
        """Versions with objects but no manifest: a registration still uploading, or one that
        stopped midway (its number stays taken)."""
        return sorted(self._numbered() - set(self.versions()))

    def get(self, version: str) -> ModelVersion:
        """The version's manifest. Raises RegistryError naming the version and the object when
        it is missing, is not JSON (cut short, overwritten) or lacks its `files` table, or when
        the store fails."""
        if not isinstance(version, str) or not VERSION_PATTERN.match(version):
            raise RegistryError(f"{version!r} is not a version name (v0001, v0002, ...)")
        key = f"versions/{version}/{MANIFEST}"
        try:
            manifest = self._read_object(key, f"{version}'s manifest")
        except ObjectMissing:
            raise RegistryError(f"no version {version} in {self.store!r}; "
                                f"versions: {self.versions() or 'none'}") from None
        if not isinstance(manifest.get("files"), dict):
            raise RegistryError(f"{version}'s manifest ({key} in {self.store!r}) has no 'files' "
                                "table: it was not written by this registry or was changed since")
        outside = [name for name in manifest["files"] if not FILE_NAME.match(name)]
        if outside:
            raise RegistryError(f"{version}'s manifest ({key} in {self.store!r}) names files "
                                f"outside its version ({outside}): refusing to read them")
        return ModelVersion(version, manifest)

    def _read_object(self, key: str, what: str, raw: bytes | None = None) -> dict:
        """A JSON object from the store (or `raw`, already read from `key`). Raises
        ObjectMissing where there is none, RegistryError naming `what` and the key where it is
        not a JSON object or the store fails."""
        raw = self.store.get(key) if raw is None else raw
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RegistryError(f"{what} ({key} in {self.store!r}, {len(raw)} bytes) is not "
                                f"valid JSON: {error}; it was cut short or overwritten after "
                                "it was written") from None
        if not isinstance(value, dict):
            raise RegistryError(f"{what} ({key} in {self.store!r}) is a JSON "
                                f"{type(value).__name__}, not an object")
        return value

    def register(self, files: dict[str, bytes], metrics: dict, lineage: dict,
                 generation: dict) -> ModelVersion:
        """Store a new version, or return the existing one holding the same weights (so
        re-running the deployment stage does not pile up copies). Safe to call concurrently,
        from threads, processes or machines: each caller gets its own version.

        Raises:
            RegistryError: the store fails, or an object of the claimed version already holds
                other bytes (someone wrote into it).
        """
        digests = {name: sha256_hex(data) for name, data in sorted(files.items())}
        for version in reversed(self.versions()):
            try:
                existing = self.get(version)
            except RegistryError as error:
                # One broken manifest must not stop every later registration; its number
                # stays taken, so nothing is written over what is left of it.
                logger.warning("registry: skipping %s while looking for these weights: %s",
                               version, error)
                continue
            if existing.manifest.get("files") == digests:
                logger.info("registry: these weights are already %s", version)
                return existing
        version = self._claim_version()
        for name, data in files.items():
            self._create_once(f"versions/{version}/{name}", data)
        manifest = strict_json({"version": version, "created_at": now_utc(), "files": digests,
                                "metrics": metrics, "lineage": lineage,
                                "generation": generation})
        self._create_once(f"versions/{version}/{MANIFEST}",
                          json.dumps(manifest, indent=2, sort_keys=True,
                                     allow_nan=False).encode())
        logger.info("registry: registered %s in %r", version, self.store)
        return ModelVersion(version, manifest)

    def _claim_version(self) -> str:
        """The next number that no key uses, taken by an exclusive create of its claim; a
        number another caller claimed first is passed over."""
        claim = json.dumps({"claimed_at": now_utc(), "token": uuid.uuid4().hex,
                            "by": f"{socket.gethostname()}:{os.getpid()}"}).encode()
        number = max((int(VERSION_PATTERN.match(v).group(1)) for v in self._numbered()),
                     default=0) + 1
        while True:
            version = f"v{number:04d}"
            if self._create_once(f"versions/{version}/{CLAIM}", claim, lost_ok=True):
                return version
            logger.info("registry: %s was claimed by another registration; trying the next "
                        "number", version)
            number += 1

    def _create_once(self, key: str, data: bytes, lost_ok: bool = False) -> bool:
        """Create `key`; finding it there already holding `data` is success too (our own
        write, retried after its answer was lost). Other bytes there: False if `lost_ok`,
        else RegistryError."""
        if self.store.create(key, data) or self.store.get(key) == data:
            return True
        if lost_ok:
            return False
        raise RegistryError(f"{key} in {self.store!r} already holds other bytes: another "
                            "writer used a version this registration claimed; nothing was "
                            "overwritten")

    def load_files(self, version: str) -> dict[str, bytes]:
        """The version's files, each checked against the sha256 its manifest recorded.
        Raises RegistryError on a missing or changed file."""
        manifest = self.get(version).manifest
        files = {}
        for name, expected in manifest["files"].items():
            data = self.store.get(f"versions/{version}/{name}")
            actual = sha256_hex(data)
            if actual != expected:
                raise RegistryError(
                    f"{version}/{name}: sha256 mismatch (manifest {expected[:16]}..., object "
                    f"{actual[:16]}...): the object was changed or truncated after registration; "
                    "refusing to load it")
            files[name] = data
        return files

    # -- the production pointer -------------------------------------------------------------
    def _read_pointer(self) -> tuple[dict | None, str | None]:
        """(pointer, its tag for `replace_if`), (None, None) when nothing was ever promoted."""
        found = self.store.get_tagged(PRODUCTION)
        if found is None:
            return None, None
        pointer = self._read_object(PRODUCTION, "the production pointer", raw=found[0])
        if not isinstance(pointer.get("history"), list) or "version" not in pointer:
            raise RegistryError(f"the production pointer ({PRODUCTION} in {self.store!r}) lacks "
                                "'version' or 'history'")
        return pointer, found[1]

    def pointer(self) -> dict | None:
        """The production pointer as stored, None when nothing was ever promoted. Raises
        RegistryError when it cannot be read or is malformed (never None for an error)."""
        return self._read_pointer()[0]

    def production(self) -> str | None:
        """The version production points at, None when nothing was ever promoted.

        Raises:
            UnresolvedProduction: the pointer names a version without a manifest (deleted, or
                its registration never finished): nothing can be served or compared with it.
            RegistryError: the pointer cannot be read.
        """
        pointer = self.pointer()
        if pointer is None:
            return None
        version = pointer["version"]
        if not (isinstance(version, str) and VERSION_PATTERN.match(version)
                and self.store.exists(f"versions/{version}/{MANIFEST}")):
            raise UnresolvedProduction(
                f"the production pointer ({PRODUCTION} in {self.store!r}) names {version!r}, "
                f"which has no manifest (deleted, or its registration never finished): nothing "
                f"can be served or gated against it. Restore versions/{version}/{MANIFEST}, "
                + (f"or `seaweed-apt rollback --no-deploy` to {pointer['history'][-1]}, "
                   if pointer["history"] else "")
                + f"or delete {PRODUCTION} to start with no production model", version)
        return version

    def _swap_pointer(self, change: Callable[[dict | None], dict | None]) -> dict | None:
        """Compare-and-swap: `change(current)` gives the new pointer (None: leave it), written
        only if the pointer is still the one read; a lost race reads it again and calls
        `change` again, so no concurrent promotion is overwritten unseen."""
        while True:
            current, tag = self._read_pointer()
            new = change(current)
            if new is None:
                return current
            new["change_id"] = uuid.uuid4().hex  # tells our own write from an equal one
            if self.store.replace_if(PRODUCTION, json.dumps(new, indent=2).encode(), tag):
                return new
            latest, latest_tag = self._read_pointer()
            if latest == new:  # our own write, retried after its answer was lost
                return new
            if latest_tag == tag:
                raise RegistryError(f"{self.store!r} refused a conditional write of {PRODUCTION} "
                                    "whose condition held: does it support conditional PUTs?")
            logger.info("registry: the production pointer changed while it was being updated "
                        "(now %s); reading it again", (latest or {}).get("version"))

    def promote(self, version: str, reason: str,
                expected: str | None | EllipsisType = ...) -> dict:
        """Point production at `version`; the old target goes on the history that `rollback`
        walks back. `expected`: the version (None: nothing) the caller decided against; if
        production moved from it meanwhile, nothing is written.

        Raises:
            ProductionMoved: production is no longer `expected`.
            RegistryError: `version` is missing or incomplete, or the store fails.
        """
        self.get(version)  # must exist and be complete

        def change(pointer: dict | None) -> dict | None:
            current = pointer["version"] if pointer else None
            if current == version:
                return None
            if expected is not ... and current != expected:
                raise ProductionMoved(f"production moved from {expected} to {current} while "
                                      f"{version} was being judged; nothing was written")
            history = (pointer["history"] if pointer else []) + ([current] if current else [])
            return {"version": version, "history": history, "updated_at": now_utc(),
                    "reason": reason}

        pointer = self._swap_pointer(change)
        logger.info("registry: production -> %s (%s)", version, reason)
        return pointer

    def rollback(self) -> dict:
        """Point production back at the version it held before the current one.

        Raises:
            ProductionMoved: another promotion or rollback changed production meanwhile
                (nothing was written: run it again if that one should go too).
            RegistryError: there is no earlier version, or it cannot be loaded.
        """
        pointer = self.pointer()
        if not pointer or not pointer["history"]:
            raise RegistryError("nothing to roll back to: production has no earlier version")
        leaving = pointer["version"]

        def change(current: dict | None) -> dict:
            if current is None or current["version"] != leaving or not current["history"]:
                raise ProductionMoved(f"production moved from {leaving} to "
                                      f"{(current or {}).get('version')} during the rollback; "
                                      "nothing was written")
            self.get(current["history"][-1])
            return {"version": current["history"][-1], "history": current["history"][:-1],
                    "updated_at": now_utc(), "reason": f"rollback from {leaving}"}

        new = self._swap_pointer(change)
        logger.info("registry: production rolled back %s -> %s", leaving, new["version"])
        return new


def open_registry(config: RegistryConfig) -> ModelRegistry:
    """The registry `deployment.registry` names (its store, S3 retries). Raises ValueError on
    a URI that is neither a folder nor s3://."""
    return ModelRegistry(open_store(config.uri, config.endpoint_url, config.max_attempts))
