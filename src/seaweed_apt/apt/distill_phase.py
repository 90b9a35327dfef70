"""Stage B1 as a training phase: consistency distillation (MSE) of the teacher, CFG baked in, into
a student whose output at t = 1 is a one-step sample (docs/method.md §2); or, switched, regression
of that output onto the teacher's multi-step samples."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seaweed_apt.apt.consistency import (
    ConsistencyDistillationLoss,
    RegressionDistillationLoss,
)
from seaweed_apt.apt.teacher_pairs import TeacherPairs
from seaweed_apt.config.posttrain import DistillConfig
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.training.checkpoint import load_model, read_config
from seaweed_apt.training.data import ClipSet
from seaweed_apt.training.ema import EMA
from seaweed_apt.training.loop import (
    LoopConfig,
    LoopSchedule,
    StepResult,
    TrainingPhase,
    single_loss_step,
)
from seaweed_apt.training.schedule import learning_rate
from seaweed_apt.training.worker import Worker


def freeze_null_caption(model: nn.Module) -> None:
    """A network that never reads the null caption keeps it frozen, so DDP sees no parameter
    without a gradient."""
    model.null_text_tokens.requires_grad_(False)
    model.null_text_pooled.requires_grad_(False)


@dataclass(frozen=True)
class DistillInputs:
    """What a distillation worker reads besides the clips: the config, the teacher's files
    (`teacher_uri`, a folder or storage URI), the encoded negative prompt that replaces the
    learned null caption in the teacher's guidance (one row, or None), and with the regression
    objective the teacher pairs (`teacher_pairs_uri`, a file of `make_teacher_pairs`)."""

    config: DistillConfig
    teacher_uri: str
    negative: TextBatch | None = None
    teacher_pairs_uri: str | None = None


def build_distill_phase(loop_config: LoopConfig[DistillInputs], worker: Worker
                        ) -> TrainingPhase:
    """The distillation phase of `loop_config.phase`."""
    inputs = loop_config.phase
    config, teacher_dir = inputs.config, inputs.teacher_uri
    # Regression reads only the stored pairs: the teacher stays off this worker.
    teacher = (None if config.objective == "regression"
               else load_model(teacher_dir).to(worker.device).requires_grad_(False))
    torch.manual_seed(config.seed)
    student = load_model(teacher_dir)  # the student starts as the teacher
    freeze_null_caption(student)  # the student never sees the null caption
    target = EMA(student, config.target_ema_decay, config.target_ema_warmup)
    optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad],
                                  lr=config.lr, weight_decay=0.0)
    loss_fn = ConsistencyDistillationLoss(config.intervals, config.cfg_scale,
                                          config.timestep_shift)
    negative = inputs.negative

    pairs = None
    if config.objective == "regression":
        pairs = TeacherPairs.load(inputs.teacher_pairs_uri, loop_config.clips.caption_table_uri,
                                  worker.rank, worker.world_size)
    regression = RegressionDistillationLoss()

    def train_step(networks: dict[str, nn.Module], clips: ClipSet, rng: torch.Generator,
                   step: int) -> StepResult:
        student = networks["model"]
        if pairs is not None:
            rows = torch.randint(len(pairs), (config.batch_size,), generator=rng)
            with worker.autocast:
                terms = regression(student, *pairs.batch(rows, worker.device))
            lr = learning_rate(step, config.lr, config.warmup_steps, config.steps)
            return single_loss_step(optimizer, terms["loss"], student.parameters(),
                                    config.grad_clip, lr, rows.shape[0])
        x0, text = clips.batch(torch.randint(len(clips), (config.batch_size,), generator=rng))
        text = text.to(worker.device)
        batch_negative = (None if negative is None
                          else negative.repeat(x0.shape[0]).to(worker.device))
        with worker.autocast:
            terms = loss_fn(student, target.model, teacher, x0.to(worker.device), text, rng,
                            batch_negative)
        lr = learning_rate(step, config.lr, config.warmup_steps, config.steps)
        return single_loss_step(optimizer, terms["loss"], student.parameters(), config.grad_clip,
                                lr, x0.shape[0])

    return TrainingPhase(
        name="distill", schedule=LoopSchedule.of(config), networks={"model": student},
        optimizers={"optimizer": optimizer}, ema=target, train_step=train_step,
        saved_config={"model": read_config(teacher_dir)["model"], "stage": "distill",
                      "train": config.model_dump(), "teacher": str(teacher_dir)})
