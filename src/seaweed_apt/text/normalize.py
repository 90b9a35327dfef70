"""Text as people type it, made into the text a caption or prompt means.

Captions files and requests carry characters that render as nothing: zero-width spaces
(U+200B), word joiners (U+2060), zero-width joiners (U+200D), byte-order marks (U+FEFF) and
other Unicode format characters, control characters, and runs of spaces. A caption made only of
those looks empty to a person and must count as empty here too; `str.strip()` keeps them.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE_RUN = re.compile(r"\s+")


class NotText(ValueError):
    """A string that is not valid Unicode text (a lone surrogate, legal in JSON's \\u escapes)."""


def clean_text(text: str) -> str:
    """NFKC-normalised `text` without format (Cf) and control (Cc) characters, whitespace runs
    as one space, stripped; "" when nothing visible is left. Raises NotText naming the position
    of a lone surrogate (U+D800-U+DFFF), which no encoder or tokenizer accepts."""
    try:
        text.encode("utf-8")  # fails on exactly the lone surrogates, and says where
    except UnicodeEncodeError as error:
        raise NotText(f"a lone surrogate U+{ord(text[error.start]):04X} at character "
                      f"{error.start}: not Unicode text (a \\u escape of half a UTF-16 pair)") \
            from None
    text = unicodedata.normalize("NFKC", text)
    kept = "".join(" " if char.isspace() else char for char in text
                   if char.isspace() or unicodedata.category(char) not in ("Cf", "Cc"))
    return _WHITESPACE_RUN.sub(" ", kept).strip()
