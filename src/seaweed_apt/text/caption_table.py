"""The caption table: each unique caption of the curated clips encoded once, one row per caption
(the clip manifest's `caption_row` points into it). Stored as one safetensors file:
`tokens` (U, L, D) float16, zero where masked; `mask` (U, L) uint8, 1 for real tokens; `pooled`
(U, D) float32, unit length (as `text.encoder.TextEncoder.encode` returns them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from seaweed_apt import storage
from seaweed_apt.text.batch import TextBatch


def caption_table_arrays(table: TextBatch) -> dict[str, np.ndarray]:
    """The arrays of the caption table's file, by name, from a table in its stored dtypes."""
    return {"tokens": table.tokens.numpy(), "mask": table.mask.numpy(),
            "pooled": table.pooled.numpy()}


def load_caption_table(uri: str | Path) -> TextBatch:
    """The caption table at `uri` (a local path or a storage URI) as one `TextBatch`, in its
    stored dtypes (float16 tokens, uint8 mask, float32 pooled).

    Raises: FileNotFoundError when there is no file at `uri`."""
    tensors = storage.load_safetensors(uri)
    return TextBatch(torch.from_numpy(tensors["tokens"]), torch.from_numpy(tensors["mask"]),
                     torch.from_numpy(tensors["pooled"]))
