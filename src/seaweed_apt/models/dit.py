"""A text-conditioned video diffusion transformer that predicts rectified-flow velocity.

Text enters twice: the pooled caption vector joins the timestep in adaLN (global conditioning), and
every block cross-attends to the caption's token states. Cross-attention rather than MMDiT joint
attention: the caption tokens come from a frozen encoder, so a second trainable token stream
(MMDiT) would roughly double the parameters per block for no gain at our sizes, and cross-attention
keeps the visual sequence alone in self-attention, the cost that dominates on a CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from seaweed_apt.models.layers import DiTBlock, FinalLayer, TimestepEmbedding, sincos_3d
from seaweed_apt.text.batch import TextBatch


@dataclass(frozen=True)
class DiTConfig:
    in_channels: int = 3  # pixels now; a latent autoencoder's channels later
    patch_t: int = 2
    patch_h: int = 8
    patch_w: int = 8
    hidden: int = 192
    depth: int = 6
    heads: int = 6
    mlp_ratio: float = 4.0
    text_dim: int = 384  # all-MiniLM-L6-v2
    text_tokens: int = 24
    # A residual 3x3x3 convolution on the unpatchified output (U-ViT's fix for patch-edge
    # artefacts): pixels next to a patch border see their neighbours across it.
    output_conv: bool = False
    # What the last layer outputs: "velocity" directly, or "x0", the clean video, turned into
    # velocity as v = (x_t - x0_hat) / t. Pixel patches as wide as the token (4x4x4x3 = 192 values
    # into 192 dims) leave no room to carry noise through a velocity output, while clean videos
    # lie on a low-dimensional manifold (Li & He 2025, "Back to Basics", JiT). Either way the
    # network's interface and its loss are velocity (docs/method.md §0).
    prediction: str = "velocity"
    min_t: float = 0.05  # x0 mode: t in the division is clamped here (t -> 0 would blow it up)

    def __post_init__(self) -> None:
        if self.prediction not in ("velocity", "x0"):
            raise ValueError(f"prediction {self.prediction!r}: use velocity or x0")
        sizes = ("in_channels", "patch_t", "patch_h", "patch_w", "hidden", "depth", "heads",
                 "text_dim", "text_tokens")
        for name in sizes:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not divisible by heads {self.heads}")
        if not self.mlp_ratio > 0:
            raise ValueError(f"mlp_ratio must be > 0, got {self.mlp_ratio}")
        if not 0.0 < self.min_t < 1.0:
            raise ValueError(f"min_t must be in (0, 1), got {self.min_t}")

    def as_dict(self) -> dict:
        return asdict(self)


# Named sizes. YAML picks one (`model.preset`) and may override fields (`model.overrides`).
PRESETS: dict[str, DiTConfig] = {
    "tiny": DiTConfig(hidden=48, depth=2, heads=2, patch_t=2, patch_h=4, patch_w=4),
    # CPU sizes: 32x32 clips in 4x4x4 patches, so a patch (192 values) fits in the hidden width;
    # a patch much wider than the token (8x8 pixels into 128 dims) left v-prediction stuck at the
    # noise floor. Measured on 2 cores: 18 samples/s for `cpu` at 16x32x32.
    "cpu-small": DiTConfig(hidden=128, depth=4, heads=4, patch_t=4, patch_h=4, patch_w=4),
    # x0 output: at 800 steps it drew clean objects on a black ground where the velocity
    # output drew 4x4 blocks in speckle (FD-EffLite0 858 vs 1,392; docs/lab/pretrain_trials.md,
    # "Network output: x0").
    "cpu": DiTConfig(hidden=192, depth=6, heads=6, patch_t=4, patch_h=4, patch_w=4,
                     output_conv=True, prediction="x0"),
    "gpu-base": DiTConfig(hidden=768, depth=12, heads=12, patch_t=2, patch_h=4, patch_w=4),
    "gpu-large": DiTConfig(hidden=1152, depth=28, heads=16, patch_t=2, patch_h=4, patch_w=4),
}


def build_config(preset: str, overrides: dict | None = None) -> DiTConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}: choose one of {sorted(PRESETS)}")
    fields = set(DiTConfig.__dataclass_fields__)
    unknown = set(overrides or {}) - fields
    if unknown:
        raise ValueError(f"unknown model override(s) {sorted(unknown)}: "
                         f"fields are {sorted(fields)}")
    return replace(PRESETS[preset], **(overrides or {}))


class VideoDiT(nn.Module):
    """v_hat = net(x_t, t, text). Videos (B, C, T, H, W) of any frame count, T = 1 for images."""

    def __init__(self, config: DiTConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.patch = (c.patch_t, c.patch_h, c.patch_w)
        self.patch_embed = nn.Conv3d(c.in_channels, c.hidden, kernel_size=self.patch,
                                     stride=self.patch)
        self.time_embed = TimestepEmbedding(c.hidden)
        self.text_pool_embed = nn.Sequential(nn.Linear(c.text_dim, c.hidden), nn.SiLU(),
                                             nn.Linear(c.hidden, c.hidden))
        # The "null caption" for classifier-free guidance is learned (caption dropout trains it).
        self.null_text_tokens = nn.Parameter(torch.randn(c.text_tokens, c.text_dim) * 0.02)
        self.null_text_pooled = nn.Parameter(torch.zeros(c.text_dim))
        self.blocks = nn.ModuleList(
            DiTBlock(c.hidden, c.heads, c.text_dim, c.mlp_ratio) for _ in range(c.depth))
        self.final = FinalLayer(c.hidden, c.in_channels * c.patch_t * c.patch_h * c.patch_w)
        self.output_conv = None
        if c.output_conv:
            # Replicate padding in time: an image (T = 1) is treated as a still video.
            self.output_conv = nn.Conv3d(c.in_channels, c.in_channels, kernel_size=3, padding=1,
                                         padding_mode="replicate")
            nn.init.zeros_(self.output_conv.weight)  # starts as the identity (residual)
            nn.init.zeros_(self.output_conv.bias)

    def null_text(self, batch: int) -> TextBatch:
        """The learned unconditional caption: tokens (B, L, Dt), mask (B, L), pooled (B, Dt)."""
        tokens = self.null_text_tokens[None].expand(batch, -1, -1)
        mask = torch.ones(batch, tokens.shape[1], dtype=torch.bool, device=tokens.device)
        return TextBatch(tokens, mask, self.null_text_pooled[None].expand(batch, -1))

    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int], int]:
        frames = x.shape[2]  # (B, C, T, H, W)
        pad_t = (-frames) % self.patch[0]
        if pad_t:  # an image, or a frame count off the temporal patch: repeat the last frame
            x = torch.cat([x, x[:, :, -1:].expand(-1, -1, pad_t, -1, -1)], dim=2)
        if x.shape[3] % self.patch[1] or x.shape[4] % self.patch[2]:
            raise ValueError(f"frame size {tuple(x.shape[3:])} is not a multiple of the patch "
                             f"{self.patch[1:]}")
        tokens = self.patch_embed(x)  # (B, D, t, h, w)
        grid = tuple(tokens.shape[2:])
        tokens = tokens.flatten(2).transpose(1, 2)  # (B, N, D)
        position = sincos_3d(*grid, tokens.shape[-1], device=x.device).to(tokens.dtype)
        return tokens + position[None], grid, frames

    def _unpatchify(self, out: torch.Tensor, grid: tuple[int, int, int],
                    frames: int) -> torch.Tensor:
        batch = out.shape[0]
        pt, ph, pw = self.patch
        t, h, w = grid
        out = out.view(batch, t, h, w, self.config.in_channels, pt, ph, pw)
        out = out.permute(0, 4, 1, 5, 2, 6, 3, 7)  # (B, C, t, pt, h, ph, w, pw)
        return out.reshape(batch, self.config.in_channels, t * pt, h * ph, w * pw)[:, :, :frames]

    def forward_features(self, x: torch.Tensor, t: torch.Tensor, text: TextBatch,
                         hidden_at: tuple[int, ...] = ()):
        """Runs the blocks. Returns final tokens (B, N, D), the conditioning vector (B, D), the
        token grid, the frame count, and the hidden states after each block in `hidden_at`
        (1-based depths; the discriminator's heads read them)."""
        tokens, grid, frames = self._embed(x)
        cond = self.time_embed(t) + self.text_pool_embed(text.pooled.to(tokens.dtype))  # (B, D)
        text_tokens = text.tokens.to(tokens.dtype)
        hidden = []
        for depth, block in enumerate(self.blocks, start=1):
            tokens = block(tokens, cond, text_tokens, text.mask)
            if depth in hidden_at:
                hidden.append(tokens)
        return tokens, cond, grid, frames, hidden

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
        """x (B, C, T, H, W) in [-1, 1] noised to time t (B,) in [0, 1], captions `text`
        (tokens (B, L, Dt), mask (B, L), pooled (B, Dt)) -> velocity, same shape as x."""
        tokens, cond, grid, frames, _ = self.forward_features(x, t, text)
        out = self._unpatchify(self.final(tokens, cond), grid, frames)
        if self.output_conv is not None:
            out = out + self.output_conv(out)
        if self.config.prediction == "velocity":
            return out
        t = t.to(out.dtype).clamp(min=self.config.min_t).view(-1, *([1] * (x.dim() - 1)))
        return (x.to(out.dtype) - out) / t

    def hidden_states(self, x: torch.Tensor, t: torch.Tensor, text: TextBatch,
                      depths: tuple[int, ...]) -> list[torch.Tensor]:
        """Token states (B, N, D) after the blocks at `depths` (1-based), for the discriminator."""
        if any(d < 1 or d > len(self.blocks) for d in depths):
            raise ValueError(f"depths {depths} outside 1..{len(self.blocks)}")
        return self.forward_features(x, t, text, tuple(depths))[4]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_sample(config: DiTConfig, frames: int, height: int, width: int) -> int:
    """Forward FLOPs of one sample (2 per multiply-add), from the layer shapes."""
    c = config
    tokens = (-(-frames // c.patch_t)) * (height // c.patch_h) * (width // c.patch_w)
    d, length = c.hidden, c.text_tokens
    patch_dim = c.in_channels * c.patch_t * c.patch_h * c.patch_w
    per_block = (
        4 * tokens * d * d + 2 * tokens * tokens * d  # self-attention: qkv + out, scores + values
        + 2 * tokens * d * d + 2 * length * c.text_dim * d + 2 * tokens * length * d  # cross
        + 2 * tokens * d * int(d * c.mlp_ratio)  # MLP
        + 6 * d * d  # adaLN modulation
    )
    conv = 27 * c.in_channels ** 2 * frames * height * width if c.output_conv else 0
    return 2 * (c.depth * per_block + 2 * tokens * patch_dim * d + conv)


def describe(config: DiTConfig, frames: int, height: int, width: int) -> str:
    params = count_parameters(VideoDiT(config))
    flops = flops_per_sample(config, frames, height, width)
    return (f"{params / 1e6:.2f}M parameters, {flops / 1e9:.2f} GFLOP forward per "
            f"{frames}x{height}x{width} sample")
