"""The APT discriminator (docs/method.md §3): the teacher's backbone, all of it trainable, with new
cross-attention-only heads at several depths. Each head is one learnable query token attending to
all visual tokens of its block; the head tokens are concatenated, LayerNorm'ed and projected to one
logit per sample. Optionally (a departure, docs/method.md §3) a projection term adds
<W c_pooled, h> to the logit, as projection discriminators do (Miyato & Koyama, 2018), so D has a
direct path to judge whether a clip matches its caption."""

from __future__ import annotations

import copy

import torch
from torch import nn

from seaweed_apt.models.dit import VideoDiT
from seaweed_apt.models.layers import Attention
from seaweed_apt.text.batch import TextBatch


def head_depths_from_fractions(fractions: tuple[float, ...], depth: int) -> tuple[int, ...]:
    """Block depths (1-based) at fractions of the network, e.g. (16, 26, 36)/36 -> (.44, .72, 1)."""
    if not fractions or any(not 0.0 < f <= 1.0 for f in fractions):
        raise ValueError(f"head depth fractions must be in (0, 1], got {fractions}")
    return tuple(sorted({max(1, min(depth, round(f * depth))) for f in fractions}))


class QueryHead(nn.Module):
    """One learnable query token cross-attending to a block's tokens -> one token (B, D)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.attention = Attention(dim, heads)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        query = self.query.expand(tokens.shape[0], -1, -1).to(tokens.dtype)  # (B, 1, D)
        return self.attention(query, context=self.norm(tokens))[:, 0]  # (B, D)


class APTDiscriminator(nn.Module):
    """D_hat(x, t, c): one logit per sample. The timestep is conditioning only: x is never
    re-noised (docs/method.md §3)."""

    def __init__(self, backbone: VideoDiT, head_depths: tuple[int, ...],
                 caption_projection: bool = False) -> None:
        super().__init__()
        self.backbone = copy.deepcopy(backbone)
        depth = len(self.backbone.blocks)
        if not head_depths or any(d < 1 or d > depth for d in head_depths):
            raise ValueError(f"head depths {head_depths} outside 1..{depth}")
        self.head_depths = tuple(sorted(head_depths))
        # Blocks past the deepest head and the output layer never run: drop them, so DDP sees
        # no unused parameters.
        self.backbone.blocks = self.backbone.blocks[: self.head_depths[-1]]
        self.backbone.final = nn.Identity()
        self.backbone.output_conv = None
        dim, heads = backbone.config.hidden, backbone.config.heads
        self.heads = nn.ModuleList(QueryHead(dim, heads) for _ in self.head_depths)
        self.out_norm = nn.LayerNorm(dim * len(self.head_depths))
        self.out = nn.Linear(dim * len(self.head_depths), 1)
        self.caption_projection = None
        if caption_projection:
            # Zero-initialised: the logit starts as the paper's; D learns how much to use it.
            self.caption_projection = nn.Linear(backbone.config.text_dim,
                                                dim * len(self.head_depths), bias=False)
            nn.init.zeros_(self.caption_projection.weight)

    @property
    def config(self):
        return self.backbone.config

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: TextBatch,
                return_features: bool = False):
        """x (B, C, T, H, W), t (B,) -> logits (B,); with `return_features` also the normalised
        head tokens (B, D * heads) the logit is read from (feature matching reads them)."""
        hidden = self.backbone.hidden_states(x, t, text,
                                             self.head_depths)
        tokens = [head(states) for head, states in zip(self.heads, hidden, strict=True)]
        features = self.out_norm(torch.cat(tokens, dim=-1))  # (B, D * heads)
        logits = self.out(features).squeeze(-1)
        if self.caption_projection is not None:
            caption = self.caption_projection(text.pooled.to(features.dtype))
            logits = logits + (caption * features).sum(dim=-1)
        return (logits.float(), features) if return_features else logits.float()
