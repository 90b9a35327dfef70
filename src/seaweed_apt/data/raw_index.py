"""A folder of raw videos with captions, as a table of file references (never the bytes).

Captions come from `captions.csv` in the folder (columns `file`, `caption`, and optionally
`split_hint`, `source_package`, `licence`, `metadata`) or from a sidecar `<video stem>.txt`.
Every other file is a candidate video: one that is not gets quarantined downstream, not skipped.
A folder may be local or a storage URI (`s3://bucket/prefix/`). A caption file that cannot be
read (an encoding other than UTF-8 or UTF-16 with a BOM, broken CSV, a missing column) does not
stop the folder: the files it captions carry its error in
`caption_error` and are quarantined downstream, naming the caption file.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pandas as pd

from seaweed_apt import storage
from seaweed_apt.text.files import UnreadableText, decode_text
from seaweed_apt.text.normalize import clean_text

logger = logging.getLogger(__name__)

CAPTIONS_FILE = "captions.csv"
INDEX_COLUMNS = [
    "path", "file", "source_set", "caption", "split_hint", "source_package", "licence", "metadata",
    "caption_error",
]
# Files that describe the videos rather than being one.
_SIDE_FILE_SUFFIXES = {".txt", ".csv", ".json", ".md", ".parquet", ".dvc"}


def index_video_folder(folder: str | Path, source_set: str) -> pd.DataFrame:
    """List every candidate video under `folder` (a local folder, or a storage URI such as
    `s3://bucket/prefix/`) with its caption ("" where none was given). A remote folder's files
    are indexed by URI, read where they are decoded: nothing is copied to this machine first.

    Raises:
        FileNotFoundError: the folder does not exist (or, remote, lists no file).
    """
    files = _list_folder(folder)
    table, table_error = _read_captions_table(files)
    rows = []
    # In path order (folder by folder), as pathlib sorts: "a/b" before "a-c/d".
    for relative, location in sorted(files.items(), key=lambda item: item[0].split("/")):
        name = relative.rsplit("/", 1)[-1]
        if name.startswith(".") or Path(name).suffix.lower() in _SIDE_FILE_SUFFIXES:
            continue
        entry = table.get(relative, {})
        caption, caption_error = entry.get("caption", ""), ""
        if not caption:
            caption, caption_error = _sidecar_caption(files, relative)
            if not caption and not caption_error:
                caption_error = table_error
        rows.append({
            "path": location,
            "file": relative,
            "source_set": source_set,
            # Invisible characters alone (zero-width spaces, joiners) are no caption.
            "caption": clean_text(str(caption or "")),
            "split_hint": str(entry.get("split_hint", "") or ""),
            "source_package": str(entry.get("source_package", "") or ""),
            "licence": str(entry.get("licence", "") or ""),
            "metadata": str(entry.get("metadata", "") or "{}"),
            "caption_error": caption_error,
        })
    if table_error:
        logger.warning("%s: %s; its files are quarantined", folder, table_error)
    missing = set(table) - {row["file"] for row in rows}
    if missing:
        logger.warning("%s: %d captioned files are missing, e.g. %s", folder, len(missing),
                       sorted(missing)[0])
    logger.info("indexed %d candidate videos under %s", len(rows), folder)
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def _list_folder(folder: str | Path) -> dict[str, str]:
    """Relative path ('/'-separated) -> where to read it: an absolute local path (a link
    resolved; a link to nothing kept, so that it is quarantined as `missing_file` rather than
    skipped without a word), or the object's URI."""
    missing = (f"raw video folder {folder} does not exist: run `seaweed-apt fetch-data` "
               "or point the catalog entry at your own folder")
    if storage.is_remote(folder):
        files = storage.list_files(folder)
        if not files:
            raise FileNotFoundError(f"{missing} (it lists no files: check the bucket and prefix)")
        return files
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(missing)
    return {path.relative_to(root).as_posix(): str(path.resolve()) for path in root.rglob("*")
            if path.is_file() or (path.is_symlink() and not path.exists())}


def _read_text(files: dict[str, str], relative: str) -> str:
    """Raises: UnreadableText naming the file."""
    return decode_text(storage.read_bytes(files[relative]), relative.rsplit("/", 1)[-1])


def _read_captions_table(files: dict[str, str]) -> tuple[dict[str, dict], str]:
    """`captions.csv` as file -> row, and "" or why it could not be read."""
    if CAPTIONS_FILE not in files:
        return {}, ""
    try:
        frame = pd.read_csv(io.StringIO(_read_text(files, CAPTIONS_FILE)), dtype=str,
                            keep_default_na=False)
    except UnreadableText as error:
        return {}, str(error)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        return {}, f"{CAPTIONS_FILE} is not a readable CSV: {error}"
    for column in ("file", "caption"):
        if column not in frame.columns:
            return {}, (f"{CAPTIONS_FILE} needs a '{column}' column "
                        f"(has {list(frame.columns)})")
    return {row["file"]: row for row in frame.to_dict(orient="records")}, ""


def _sidecar_caption(files: dict[str, str], relative: str) -> tuple[str, str]:
    """A video's `<stem>.txt` caption and "", or "" and why it could not be read."""
    sidecar = Path(relative).with_suffix(".txt").as_posix()
    if sidecar not in files:
        return "", ""
    try:
        return _read_text(files, sidecar), ""
    except UnreadableText as error:
        return "", str(error)


def write_captions_table(folder: str | Path, rows: list[dict]) -> Path:
    """Write `captions.csv` for a folder this project filled (the fetchers use it)."""
    path = Path(folder) / CAPTIONS_FILE
    frame = pd.DataFrame(rows)
    partial = path.with_name(f".{path.name}.partial")
    frame.to_csv(partial, index=False)
    partial.replace(path)
    return path
