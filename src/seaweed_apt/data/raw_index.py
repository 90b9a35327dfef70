"""A folder of raw videos with captions, as a table of file references (never the bytes).

Captions come from `captions.csv` in the folder (columns `file`, `caption`, and optionally
`split_hint`, `source_package`, `licence`, `metadata`) or from a sidecar `<video stem>.txt`.
Every other file is a candidate video: one that is not gets quarantined downstream, not skipped.
A folder may be local or a storage URI (`s3://bucket/prefix/`). A caption file that cannot be
read (an encoding other than UTF-8 or UTF-16 with a BOM, broken CSV, a missing column) does not
stop the folder: the files it captions carry its error in
`caption_error` and are quarantined downstream, naming the caption file. A file that
`captions.csv` lists twice with other values (caption, split hint, ...) is quarantined naming
both lines (`caption_conflict`): which row was meant is the user's to say; rows alike are one.
"""

from __future__ import annotations

import csv
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
    "caption_error", "caption_error_reason",
]
# The captions.csv columns read into the index: two rows of a file that differ in one conflict.
_ROW_FIELDS = ("caption", "split_hint", "source_package", "licence", "metadata")
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
    table, table_error = _read_captions_table(files, folder)
    rows = []
    # In path order (folder by folder), as pathlib sorts: "a/b" before "a-c/d".
    for relative, location in sorted(files.items(), key=lambda item: item[0].split("/")):
        name = relative.rsplit("/", 1)[-1]
        if name.startswith(".") or Path(name).suffix.lower() in _SIDE_FILE_SUFFIXES:
            continue
        entry = table.get(relative, {})
        caption, caption_error = entry.get("caption", ""), entry.get("conflict", "")
        reason = "caption_conflict" if caption_error else "caption_unreadable"
        if not caption and not caption_error:
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
            "caption_error_reason": reason if caption_error else "",
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


def _read_captions_table(files: dict[str, str], folder: str | Path
                         ) -> tuple[dict[str, dict], str]:
    """`captions.csv` as file -> row (a file listed twice with other values: {"conflict": why}),
    and "" or why it could not be read."""
    if CAPTIONS_FILE not in files:
        return {}, ""
    try:
        text = _read_text(files, CAPTIONS_FILE)
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except UnreadableText as error:
        return {}, str(error)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        return {}, f"{CAPTIONS_FILE} is not a readable CSV: {error}"
    for column in ("file", "caption"):
        if column not in frame.columns:
            return {}, (f"{CAPTIONS_FILE} needs a '{column}' column "
                        f"(has {list(frame.columns)})")
    return _settle_repeated_files(frame, _record_lines(text, len(frame)), folder), ""


def _settle_repeated_files(frame: pd.DataFrame, lines: list[int], folder: str | Path
                           ) -> dict[str, dict]:
    """file -> its row; a file on several rows: one of them where they read alike (a warning),
    else {"conflict": the lines and the values that differ}. `lines[i]`: row i's line."""
    records = frame.to_dict(orient="records")
    positions: dict[str, list[int]] = {}
    for position, row in enumerate(records):
        positions.setdefault(row["file"], []).append(position)
    table = {}
    for file, rows in positions.items():
        table[file] = records[rows[0]]
        if len(rows) == 1:
            continue
        at = _lines_text([lines[row] for row in rows])
        differing = [field for field in _ROW_FIELDS
                     if len({_field(records[row], field) for row in rows}) > 1]
        if not differing:
            logger.warning("%s: %s lists %s on %s alike: read once", folder, CAPTIONS_FILE,
                           file, at)
            continue
        values = "; ".join(f"{field} {_values_text(records, rows, lines, field)}"
                           for field in differing)
        table[file] = {"conflict": f"{CAPTIONS_FILE} lists {file} on {at} with another "
                                   f"{' and '.join(differing)}: {values}; keep one row for it"}
    return table


def _values_text(records: list[dict], rows: list[int], lines: list[int], field: str) -> str:
    """A field's distinct values among `rows`, each with the first line it is on (5 at most)."""
    first_line: dict[str, int] = {}
    for row in rows:
        first_line.setdefault(_field(records[row], field), lines[row])
    shown = [f"{value[:80]!r} (line {line})" for value, line in list(first_line.items())[:5]]
    more = f" and {len(first_line) - 5} more" if len(first_line) > 5 else ""
    return ", ".join(shown) + more


def _field(row: dict, field: str) -> str:
    """A captions.csv value as the index reads it."""
    value = str(row.get(field, "") or "")
    if field == "caption":
        return clean_text(value)
    if field == "metadata":
        return value or "{}"
    return value


def _lines_text(lines: list[int]) -> str:
    """"lines 2 and 5", "lines 2, 5 and 9", "lines 2, 3, ... and 7 more" past 10."""
    if len(lines) > 10:
        return "lines " + ", ".join(map(str, lines[:10])) + f" and {len(lines) - 10} more"
    return "lines " + ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"


def _record_lines(text: str, records: int) -> list[int]:
    """The line each of a CSV's `records` data rows starts on (a quoted caption may hold line
    breaks; blank lines are no row, as pandas reads it); row i + 2 where csv counts otherwise."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, line = [], 0
    try:
        for row in reader:
            if row:
                starts.append(line + 1)
            line = reader.line_num
    except csv.Error:
        starts = []
    data = starts[1:]  # after the header
    return data if len(data) == records else [row + 2 for row in range(records)]


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
