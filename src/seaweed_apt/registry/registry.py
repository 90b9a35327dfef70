"""The model registry: immutable versions and a `production` pointer with its history.

Layout in the store:
    versions/<v0001>/model.safetensors, config.json   the deployable files
    versions/<v0001>/manifest.json                    sha256 of each file, metrics, lineage,
                                                      generation settings; written last, so a
                                                      version without it is incomplete
    pointers/production.json                          {"version", "history", "updated_at", "reason"}
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from seaweed_apt.registry.stores import ObjectStore, RegistryError

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PRODUCTION = "pointers/production.json"
VERSION_PATTERN = re.compile(r"^v(\d{4,})$")


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
    def versions(self) -> list[str]:
        """Complete versions (those with a manifest), oldest first."""
        found = {key.split("/")[1] for key in self.store.list("versions/")
                 if key.endswith(f"/{MANIFEST}")}
        return sorted(v for v in found if VERSION_PATTERN.match(v))

    def get(self, version: str) -> ModelVersion:
        """The version's manifest. Raises RegistryError naming the version and the object when
        it is missing, is not JSON (cut short, overwritten) or lacks its `files` table."""
        if not VERSION_PATTERN.match(version):
            raise RegistryError(f"{version!r} is not a version name (v0001, v0002, ...)")
        key = f"versions/{version}/{MANIFEST}"
        if not self.store.exists(key):
            raise RegistryError(f"no version {version} in {self.store!r}; "
                                f"versions: {self.versions() or 'none'}")
        manifest = self._read_object(key, f"{version}'s manifest")
        if not isinstance(manifest.get("files"), dict):
            raise RegistryError(f"{version}'s manifest ({key} in {self.store!r}) has no 'files' "
                                "table: it was not written by this registry or was changed since")
        return ModelVersion(version, manifest)

    def _read_object(self, key: str, what: str) -> dict:
        """A JSON object from the store, or RegistryError naming `what` and the key."""
        raw = self.store.get(key)
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
        re-running the deployment stage does not pile up copies)."""
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
        numbers = [int(VERSION_PATTERN.match(v).group(1)) for v in self.versions()]
        version = f"v{max(numbers, default=0) + 1:04d}"
        for name, data in files.items():
            self.store.put(f"versions/{version}/{name}", data)
        manifest = strict_json({"version": version, "created_at": now_utc(), "files": digests,
                                "metrics": metrics, "lineage": lineage,
                                "generation": generation})
        self.store.put(f"versions/{version}/{MANIFEST}",
                       json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False).encode())
        logger.info("registry: registered %s in %r", version, self.store)
        return ModelVersion(version, manifest)

    def load_files(self, version: str) -> dict[str, bytes]:
        """The version's files, each checked against the sha256 its manifest recorded."""
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
    def pointer(self) -> dict | None:
        if not self.store.exists(PRODUCTION):
            return None
        pointer = self._read_object(PRODUCTION, "the production pointer")
        if not isinstance(pointer.get("history"), list) or "version" not in pointer:
            raise RegistryError(f"the production pointer ({PRODUCTION} in {self.store!r}) lacks "
                                "'version' or 'history'")
        return pointer

    def production(self) -> str | None:
        pointer = self.pointer()
        return pointer["version"] if pointer else None

    def promote(self, version: str, reason: str) -> dict:
        """Point production at `version` in one object write; the old target goes on the
        history that `rollback` walks back."""
        self.get(version)  # must exist and be complete
        pointer = self.pointer() or {"version": None, "history": []}
        if pointer["version"] == version:
            return pointer
        history = pointer["history"] + ([pointer["version"]] if pointer["version"] else [])
        new = {"version": version, "history": history, "updated_at": now_utc(), "reason": reason}
        self.store.put(PRODUCTION, json.dumps(new, indent=2).encode())
        logger.info("registry: production -> %s (%s)", version, reason)
        return new

    def rollback(self) -> dict:
        """Point production back at the version it held before the current one."""
        pointer = self.pointer()
        if not pointer or not pointer["history"]:
            raise RegistryError("nothing to roll back to: production has no earlier version")
        previous, history = pointer["history"][-1], pointer["history"][:-1]
        self.get(previous)
        new = {"version": previous, "history": history, "updated_at": now_utc(),
               "reason": f"rollback from {pointer['version']}"}
        self.store.put(PRODUCTION, json.dumps(new, indent=2).encode())
        logger.info("registry: production rolled back %s -> %s", pointer["version"], previous)
        return new
