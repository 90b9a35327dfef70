"""A local copy of a remote folder (S3 or any fsspec filesystem) that follows the remote: ffmpeg
reads local files, and a video withdrawn from the remote must not keep being curated from the
copy."""

from __future__ import annotations

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

STATE_FILE = ".mirror.json"  # relative key -> the remote fingerprint last fetched


def _fingerprint(info: dict) -> str:
    """What changes when the object's bytes do: S3's ETag, else size and modification time."""
    etag = info.get("ETag") or info.get("etag") or info.get("md5Hash")
    if etag:
        return str(etag).strip('"')
    return f"{info.get('size')}:{info.get('LastModified') or info.get('mtime') or ''}"


def mirror_folder(filesystem, remote: str, local: str | Path) -> dict[str, int]:
    """Make `local` hold exactly the files under `remote`: fetch the new and the changed ones
    (by fingerprint), delete the ones the remote no longer lists.

    Args:
        filesystem: an fsspec filesystem (`fsspec.filesystem("s3", ...)`).
        remote: the folder's URL, e.g. "s3://bucket/prefix with spaces/".
        local: the copy's folder (created).

    Returns:
        counts: {"fetched", "kept", "deleted"}.

    Raises:
        FileNotFoundError: the remote folder lists no file (a typo'd prefix must not empty the
            copy and curate nothing without a word).
    """
    local = Path(local)
    root = filesystem._strip_protocol(remote.rstrip("/"))
    listing = {path[len(root):].lstrip("/"): info
               for path, info in filesystem.find(root, detail=True).items()
               if info.get("type", "file") != "directory" and path.startswith(root + "/")}
    if not listing:
        raise FileNotFoundError(f"{remote} lists no files (check the bucket and prefix)")
    state_path = local / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    counts = {"fetched": 0, "kept": 0, "deleted": 0}
    if local.exists():
        for path in sorted(local.rglob("*"), reverse=True):  # files before their folders
            key = path.relative_to(local).as_posix()
            if path.is_file() and key != STATE_FILE and key not in listing:
                path.unlink()
                counts["deleted"] += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    fetched = {}
    for key, info in sorted(listing.items()):
        target = local / key
        fetched[key] = _fingerprint(info)
        if target.is_file() and state.get(key) == fetched[key]:
            counts["kept"] += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        filesystem.get_file(f"{root}/{key}", str(partial))
        partial.replace(target)  # a killed fetch never leaves half a video under its name
        counts["fetched"] += 1
    local.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(fetched, indent=1, sort_keys=True))
    logger.info("mirrored %s -> %s: %d fetched, %d unchanged, %d withdrawn and deleted",
                remote, local, counts["fetched"], counts["kept"], counts["deleted"])
    return counts
