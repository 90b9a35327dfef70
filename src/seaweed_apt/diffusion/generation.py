"""How a generator's files make a video: the `generation` block of its `config.json` (not a
parameter group; config/ holds those). Pretraining writes it into the teacher's files from the
clips and `sampling`, distillation and APT carry it forward as one step, and the registry, the
grids, the speed timing and the endpoint read it from the files (so a served model never depends
on today's parameters or clips)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.config.text import TextEncoderConfig


class GenerationConfig(BaseModel):
    """What `diffusion.sampling.generate_videos` needs besides the network, prompts and seeds.

    `prediction_type` "flow": the network predicts the rectified-flow velocity v = noise - x0
    (docs/method.md §1; diffusers' `FlowMatchEulerDiscreteScheduler` convention). A multi-step
    model samples with `num_inference_steps` Euler steps on the grid shifted by `shift`, with
    classifier-free guidance `guidance_scale`; a one-step generator (distilled, APT) has one step
    and guidance 1 (docs/method.md §3)."""

    # Strict and frozen as a parameter group is, but written by stages, not read from conf/.
    model_config = ConfigDict(extra="forbid", frozen=True)

    num_frames: int = Field(ge=1)
    height: int = Field(ge=1, description="pixels")
    width: int = Field(ge=1, description="pixels")
    fps: int = Field(ge=1)
    prediction_type: Literal["flow"]
    num_inference_steps: int = Field(ge=1)
    guidance_scale: float = Field(ge=1.0)
    shift: float = Field(gt=0.0)
    text_encoder: TextEncoderConfig

    @classmethod
    def for_teacher(cls, clip_shape: tuple[int, int, int], sampling: SamplingConfig,
                    text_encoder: TextEncoderConfig) -> GenerationConfig:
        """A pretrained teacher's block: the clips' (frames, height, width), and `sampling`'s
        fps, Euler steps, guidance and timestep shift."""
        frames, height, width = clip_shape
        return cls(num_frames=frames, height=height, width=width, fps=sampling.fps,
                   prediction_type="flow", num_inference_steps=sampling.steps,
                   guidance_scale=sampling.cfg_scale, shift=sampling.shift,
                   text_encoder=text_encoder)

    @property
    def clip_shape(self) -> tuple[int, int, int]:
        """(frames, height, width) in pixels."""
        return self.num_frames, self.height, self.width

    @property
    def is_one_step(self) -> bool:
        return self.num_inference_steps == 1 and self.guidance_scale == 1.0

    def as_one_step(self) -> GenerationConfig:
        """The same videos from a one-step generator: one network evaluation, no guidance."""
        return self.model_copy(update={"num_inference_steps": 1, "guidance_scale": 1.0})
