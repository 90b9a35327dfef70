"""A folder of raw videos with captions, as a table of file references (never the bytes).

Captions come from `captions.csv` in the folder (columns `file`, `caption`, and optionally
`split_hint`, `source_package`, `licence`, `metadata`) or from a sidecar `<video stem>.txt`.
Every other file is a candidate video: one that is not gets quarantined downstream, not skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from seaweed_apt.text.normalize import clean_text

logger = logging.getLogger(__name__)

CAPTIONS_FILE = "captions.csv"
INDEX_COLUMNS = [
    "path", "file", "source_set", "caption", "split_hint", "source_package", "licence", "metadata",
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
    table = _read_captions_table(folder)
    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if path.name.startswith(".") or path.suffix.lower() in _SIDE_FILE_SUFFIXES:
            continue
        entry = table.get(relative, {})
        # Invisible characters alone (zero-width spaces, joiners) are no caption.
        caption = clean_text(str(entry.get("caption", "") or _sidecar_caption(path)))
        rows.append({
            "path": str(path.resolve()),
            "file": relative,
            "source_set": source_set,
            "caption": caption,
            "split_hint": str(entry.get("split_hint", "") or ""),
            "source_package": str(entry.get("source_package", "") or ""),
            "licence": str(entry.get("licence", "") or ""),
            "metadata": str(entry.get("metadata", "") or "{}"),
        })
    missing = set(table) - {row["file"] for row in rows}
    if missing:
        logger.warning("%s: %d captioned files are missing, e.g. %s", folder, len(missing),
                       sorted(missing)[0])
    logger.info("indexed %d candidate videos under %s", len(rows), folder)
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def _read_captions_table(folder: Path) -> dict[str, dict]:
    csv_path = folder / CAPTIONS_FILE
    if not csv_path.exists():
        return {}
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    for column in ("file", "caption"):
        if column not in frame.columns:
            raise ValueError(f"{csv_path} needs a '{column}' column (has {list(frame.columns)})")
    return {row["file"]: row for row in frame.to_dict(orient="records")}


def _sidecar_caption(path: Path) -> str:
    sidecar = path.with_suffix(".txt")
    return sidecar.read_text(encoding="utf-8") if sidecar.exists() else ""


def write_captions_table(folder: str | Path, rows: list[dict]) -> Path:
    """Write `captions.csv` for a folder this project filled (the fetchers use it)."""
    path = Path(folder) / CAPTIONS_FILE
    frame = pd.DataFrame(rows)
    partial = path.with_name(f".{path.name}.partial")
    frame.to_csv(partial, index=False)
    partial.replace(path)
    return path
