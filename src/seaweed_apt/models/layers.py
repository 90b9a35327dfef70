"""Building blocks of the video DiT: embeddings, attention through SDPA, adaLN-zero blocks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sincos_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """(N,) positions -> (N, dim) sin-cos features (dim even)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device) / half)
    angles = positions.float()[:, None] * freqs[None]  # (N, half)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_3d(grid_t: int, grid_h: int, grid_w: int, dim: int, device=None) -> torch.Tensor:
    """Fixed 3D position features (N = t*h*w, dim): one third of the channels per axis, so any
    frame count and size works with the same weights (1 frame = an image)."""
    axis_dim = (dim // 3) // 2 * 2
    t, h, w = torch.meshgrid(
        torch.arange(grid_t, device=device), torch.arange(grid_h, device=device),
        torch.arange(grid_w, device=device), indexing="ij",
    )
    features = torch.cat([sincos_1d(t.flatten(), axis_dim), sincos_1d(h.flatten(), axis_dim),
                          sincos_1d(w.flatten(), axis_dim)], dim=1)  # (N, 3 * axis_dim)
    return F.pad(features, (0, dim - features.shape[1]))


class TimestepEmbedding(nn.Module):
    """t in [0, 1] -> (B, D); scaled by 1000 so the sin-cos frequencies resolve small steps."""

    def __init__(self, dim: int, freq_dim: int = 256) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sincos_1d(t * 1000.0, self.freq_dim).to(self.mlp[0].weight.dtype))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]  # (B, N, D)


class Attention(nn.Module):
    """Multi-head attention through scaled_dot_product_attention (flash kernels on GPU)."""

    def __init__(self, dim: int, heads: int, context_dim: int | None = None) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"hidden size {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(context_dim or dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                context_mask: torch.Tensor | None = None) -> torch.Tensor:
        batch, tokens, dim = x.shape  # (B, N, D)
        context = x if context is None else context  # (B, L, Dc)
        q = self.to_q(x).view(batch, tokens, self.heads, -1).transpose(1, 2)  # (B, h, N, d)
        k, v = self.to_kv(context).view(batch, context.shape[1], 2, self.heads, -1).unbind(2)
        k, v = k.transpose(1, 2), v.transpose(1, 2)  # (B, h, L, d)
        mask = None if context_mask is None else context_mask[:, None, None, :].bool()  # (B,1,1,L)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, h, N, d)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class DiTBlock(nn.Module):
    """Self-attention and MLP under adaLN-zero (DiT), with cross-attention to the caption tokens
    between them (PixArt-alpha style)."""

    def __init__(self, dim: int, heads: int, text_dim: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.self_attn = Attention(dim, heads)
        self.norm_cross = nn.LayerNorm(dim, eps=1e-6)
        self.cross_attn = Attention(dim, heads, context_dim=text_dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"),
                                 nn.Linear(hidden, dim))
        self.ada_ln = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        nn.init.zeros_(self.ada_ln[1].weight)  # adaLN-zero: each block starts as the identity
        nn.init.zeros_(self.ada_ln[1].bias)
        nn.init.zeros_(self.cross_attn.proj.weight)
        nn.init.zeros_(self.cross_attn.proj.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, text: torch.Tensor,
                text_mask: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada_ln(cond).chunk(6, dim=1)  # (B, D)
        x = x + gate1[:, None] * self.self_attn(modulate(self.norm1(x), shift1, scale1))
        x = x + self.cross_attn(self.norm_cross(x), text, text_mask)
        return x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))


class FinalLayer(nn.Module):
    def __init__(self, dim: int, patch_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ada_ln = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))
        self.linear = nn.Linear(dim, patch_dim)
        for layer in (self.ada_ln[1], self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift, scale = self.ada_ln(cond).chunk(2, dim=1)
        return self.linear(modulate(self.norm(x), shift, scale))  # (B, N, patch_dim)
