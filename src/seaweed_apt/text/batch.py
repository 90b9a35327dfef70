"""`TextBatch`: the one type of encoded text the networks, samplers and losses take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class TextBatch:
    """Caption conditioning for a batch: tokens (B, L, Dt), mask (B, L) bool, pooled (B, Dt).

    A caption table (one row per unique caption, as curation stores it: fp16 tokens, uint8
    mask) is a `TextBatch` too; `select(rows).float()` gives a batch the networks take."""

    tokens: torch.Tensor
    mask: torch.Tensor
    pooled: torch.Tensor

    @classmethod
    def from_arrays(cls, tokens, mask, pooled) -> TextBatch:
        """From numpy arrays or nested lists (a table's file, a config's negative prompt),
        as float32 tokens and pooled vectors and a bool mask."""
        return cls(*(torch.as_tensor(np.asarray(a)) for a in (tokens, mask, pooled))).float()

    def __len__(self) -> int:
        return self.pooled.shape[0]

    def select(self, rows: torch.Tensor | np.ndarray | Sequence[int] | slice) -> TextBatch:
        """The rows `rows` (indices, a bool mask or a slice) of each field, dtypes kept."""
        if isinstance(rows, np.ndarray):
            rows = torch.from_numpy(np.array(rows))  # a copy: shard and Ray arrays are read-only
        elif not isinstance(rows, (slice, torch.Tensor)):
            rows = torch.as_tensor(list(rows), dtype=torch.int64)
        return TextBatch(self.tokens[rows], self.mask[rows], self.pooled[rows])

    def float(self) -> TextBatch:
        """float32 tokens and pooled vectors, a bool mask (a table's fp16 and uint8 as stored)."""
        return TextBatch(self.tokens.float(), self.mask.bool(), self.pooled.float())

    def to(self, device) -> TextBatch:
        return TextBatch(self.tokens.to(device), self.mask.to(device), self.pooled.to(device))

    def where(self, keep: torch.Tensor, other: TextBatch) -> TextBatch:
        """Per sample: this caption where `keep` (B,) is true, else `other`'s."""
        k = keep.to(self.tokens.device)
        other_tokens = other.tokens.to(self.tokens.dtype)
        return TextBatch(torch.where(k[:, None, None], self.tokens, other_tokens),
                         torch.where(k[:, None], self.mask, other.mask),
                         torch.where(k[:, None], self.pooled, other.pooled.to(self.pooled.dtype)))

    def repeat(self, times: int) -> TextBatch:
        return TextBatch(self.tokens.repeat(times, 1, 1), self.mask.repeat(times, 1),
                         self.pooled.repeat(times, 1))

    @staticmethod
    def cat(batches: list[TextBatch]) -> TextBatch:
        """The batches one after another (all on one device, token lengths equal)."""
        return TextBatch(torch.cat([b.tokens for b in batches]),
                         torch.cat([b.mask for b in batches]),
                         torch.cat([b.pooled for b in batches]))
