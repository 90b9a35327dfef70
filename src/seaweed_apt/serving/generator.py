"""What one replica holds: a registered one-step generator and the text encoder, loaded once."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import torch

from seaweed_apt.config.text import TextEncoderConfig
from seaweed_apt.data.video_io import encode_video_bytes, video_grid
from seaweed_apt.device import default_device
from seaweed_apt.diffusion.generation import GenerationConfig
from seaweed_apt.diffusion.sampling import generate_videos
from seaweed_apt.registry.registry import ModelRegistry
from seaweed_apt.training.checkpoint import (
    CONFIG_FILE,
    GENERATION_KEY,
    CheckpointError,
    load_model_from_files,
    read_generation,
)

logger = logging.getLogger(__name__)


class OneStepGenerator:
    """Generates through `generate_videos` exactly as evaluation measured the served checkpoint:
    one network evaluation, no guidance (docs/method.md §3)."""

    def __init__(self, registry: ModelRegistry, version: str | None = None,
                 device: torch.device | None = None) -> None:
        from seaweed_apt.text.encoder import TextEncoder

        version = version or registry.production()
        if version is None:
            raise RuntimeError(f"{registry!r} has no production model: run the deployment "
                               "stage (kedro run --pipelines deployment) first")
        self.device = device or default_device()
        self.model_version = registry.get(version)
        files = registry.load_files(version)  # sha256-checked
        self.model = load_model_from_files(files, device=self.device)
        self.generation = served_generation(files, self.model_version.manifest, version)
        self.text_encoder = TextEncoder(self.generation.text_encoder, device=str(self.device))
        logger.info("serving %s (%s) on %s, videos %s at %d fps", version,
                    json.loads(files["config.json"]).get("weights_sha256", "")[:12],
                    self.device, "x".join(map(str, self.generation.clip_shape)),
                    self.generation.fps)

    @property
    def geometry(self) -> tuple[int, int, int]:
        return self.generation.clip_shape

    @property
    def fps(self) -> int:
        return self.generation.fps

    @property
    def version(self) -> str:
        return self.model_version.version

    def generate(self, prompts: list[str], seeds: list[int]) -> np.ndarray:
        """One video per (prompt, seed): (B, T, H, W, 3) uint8."""
        text = self.text_encoder.encode_text(prompts)
        frames, height, width = self.geometry
        return generate_videos(self.model, text, seeds, steps=1, cfg_scale=1.0,
                               num_frames=frames, height=height, width=width,
                               one_step_generator=True, batch_size=max(len(seeds), 1))


def served_generation(files: dict[str, bytes], manifest: dict, version: str
                      ) -> GenerationConfig:
    """How a registered version makes a video: its config.json's generation block; for a version
    registered before files carried one, the registry manifest's settings (frames, size, fps,
    text encoder), which were all a one-step generator needed.

    Raises:
        CheckpointError: the files' block is invalid, or neither place has the settings.
        ValueError: the block is not a one-step generator's (this endpoint makes one step).
    """
    config = json.loads(files[CONFIG_FILE])
    if GENERATION_KEY in config:
        generation = read_generation(config, f"registry version {version}")
    elif "generation" in manifest:
        old = manifest["generation"]
        generation = GenerationConfig(
            num_frames=old["num_frames"], height=old["height"], width=old["width"],
            fps=old["fps"], prediction_type="flow", num_inference_steps=1, guidance_scale=1.0,
            shift=1.0, text_encoder=TextEncoderConfig(**old["text_encoder"]))
    else:
        raise CheckpointError(f"registry version {version} has no generation settings in its "
                              "files or its manifest")
    if not generation.is_one_step:
        raise ValueError(f"registry version {version} is a {generation.num_inference_steps}-step "
                         f"model with guidance {generation.guidance_scale}: the endpoint serves "
                         "one-step generators (register an APT checkpoint)")
    return generation


def generate_per_request(generate, jobs: list[tuple[str, list[int]]]
                         ) -> list[np.ndarray | Exception]:
    """Videos for a batch of requests, each request's own `(len(seeds), T, H, W, 3)` uint8 array,
    or the exception that request alone raised.

    Every request in one `generate(prompts, seeds)` call; should that raise, each request is
    generated alone, so one request that cannot be generated fails by itself and the others of
    its batch still get their videos (Ray Serve's `@serve.batch` fails every caller of a batch
    that raises; an exception returned as a result fails only its own caller). A video depends
    only on its prompt and seed, not on the batch it was generated in, so the fallback returns
    the same videos."""
    prompts = [prompt for prompt, seeds in jobs for _ in seeds]
    seeds = [seed for _, request_seeds in jobs for seed in request_seeds]
    try:
        videos = generate(prompts, seeds)
    except Exception:
        if len(jobs) == 1:
            raise
        logger.warning("a batch of %d requests failed; generating each alone", len(jobs),
                       exc_info=True)
        return [_generate_alone(generate, prompt, request_seeds)
                for prompt, request_seeds in jobs]
    out, begin = [], 0
    for _, request_seeds in jobs:
        out.append(videos[begin : begin + len(request_seeds)])
        begin += len(request_seeds)
    return out


def _generate_alone(generate, prompt: str, seeds: list[int]) -> np.ndarray | Exception:
    try:
        return generate([prompt] * len(seeds), seeds)
    except Exception as error:  # this request's failure, handed to its caller alone
        logger.exception("generation failed for prompt %r seeds %s", prompt[:60], seeds)
        return error


def encode_response(videos: np.ndarray, fmt: str, fps: int, scale: int = 1,
                    preset: str = "medium") -> bytes:
    """mp4/gif: the videos side by side in one clip, each pixel a `scale` x `scale` block
    (nearest neighbour: the model's pixels stay sharp, no smoothing invents detail), mp4 at
    x264's `preset`; npy: the (N, T, H, W, 3) uint8 array as generated."""
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, videos)
        return buffer.getvalue()
    tiled = videos[0] if len(videos) == 1 else video_grid(videos, columns=len(videos))
    if scale > 1:
        tiled = tiled.repeat(scale, axis=1).repeat(scale, axis=2)
    return encode_video_bytes(tiled, fps, fmt, preset)
