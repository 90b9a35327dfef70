"""Caption files as people save them: UTF-8 (with or without the BOM Excel writes), or UTF-16 with
a BOM (Windows Notepad's "Unicode"). Anything else is refused with the file and the byte named,
never guessed: cp1252 and Latin-1 read any byte as some character, so a guess would train on the
wrong words without a trace."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

# Checked in this order: UTF-32's little-endian BOM begins with UTF-16's; no caption file we
# accept is UTF-32, and it falls through to the UTF-8 check and its error.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


class UnreadableText(ValueError):
    """A text file in an encoding we do not read; the message names the file and the first bad
    byte (offset and line) and how to fix it."""


def read_text_file(path: str | os.PathLike) -> str:
    """The text of the file `path` (see `decode_text`).

    Raises:
        UnreadableText: the bytes are not text in those encodings.
    """
    return decode_text(Path(path).read_bytes(), Path(path).name)


def decode_text(data: bytes, name: str) -> str:
    """`data` decoded by its BOM (UTF-8 or UTF-16), else as strict UTF-8; `name` is the file's,
    for the error.

    Raises:
        UnreadableText: the bytes are not text in those encodings.
    """
    encoding = next((codec for bom, codec in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UnreadableText(
            f"{name} is not {encoding.upper().removesuffix('-SIG')} text: byte "
            f"0x{data[error.start]:02x} at offset {error.start} (line {line}) "
            f"({error.reason}); save it as UTF-8 (or UTF-16 with a BOM)"
        ) from None
