"""A folder of raw videos with captions, as a table of file references (never the bytes).

Captions come from `captions.csv` in the folder (columns `file`, `caption`, and optionally
`split_hint`, `source_package`, `licence`, `metadata`) or from a sidecar `<video stem>.txt`.
Every other file is a candidate video: one that is not gets quarantined downstream, not skipped.
A caption file that cannot be read (an encoding other than UTF-8 or UTF-16 with a BOM, broken
CSV, a missing column) does not stop the folder: the files it captions carry its error in
`caption_error` and are quarantined downstream, naming the caption file.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pandas as pd

from seaweed_apt.text.files import UnreadableText, read_text_file
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
    """List every candidate video under `folder` with its caption ("" where none was given)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"raw video folder {folder} does not exist: run `seaweed-apt fetch-data` "
            "or point the catalog entry at your own folder"
        )
    table, table_error = _read_captions_table(folder)
    rows = []
    for path in sorted(p for p in folder.rglob("*") if _is_candidate(p)):
        relative = path.relative_to(folder).as_posix()
        if path.name.startswith(".") or path.suffix.lower() in _SIDE_FILE_SUFFIXES:
            continue
        entry = table.get(relative, {})
        caption, caption_error = entry.get("caption", ""), ""
        if not caption:
            caption, caption_error = _sidecar_caption(path)
            if not caption and not caption_error:
                caption_error = table_error
        rows.append({
            "path": str(path.resolve()),
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


def _is_candidate(path: Path) -> bool:
    """Files, and links to nothing (so that a broken link is quarantined as `missing_file`
    rather than skipped without a word)."""
    return path.is_file() or (path.is_symlink() and not path.exists())


def _read_captions_table(folder: Path) -> tuple[dict[str, dict], str]:
    """`captions.csv` as file -> row, and "" or why it could not be read."""
    csv_path = folder / CAPTIONS_FILE
    if not csv_path.exists():
        return {}, ""
    try:
        frame = pd.read_csv(io.StringIO(read_text_file(csv_path)), dtype=str,
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


def _sidecar_caption(path: Path) -> tuple[str, str]:
    """A video's `<stem>.txt` caption and "", or "" and why it could not be read."""
    sidecar = path.with_suffix(".txt")
    if not sidecar.exists():
        return "", ""
    try:
        return read_text_file(sidecar), ""
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
