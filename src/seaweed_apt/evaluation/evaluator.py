"""An item classifier trained in the pipeline on real train frames, then frozen: it says whether a
generated clip shows the prompted item and gives a second feature space for a Fréchet distance.
It is never a training loss."""

from __future__ import annotations

import json
import logging

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import nn
from tqdm.auto import tqdm

from seaweed_apt.evaluation.data import clips_inputs
from seaweed_apt.result_cache import ResultCache, result_key

logger = logging.getLogger(__name__)


class ItemClassifier(nn.Module):
    """(N, 3, H, W) frames in [-1, 1] -> logits over the item classes; `features` are the
    penultimate activations.

    Weights and inputs are kept channels-last by default: oneDNN's convolutions train this network
    1.45-1.66x faster on 2 CPU cores than in the contiguous layout (two runs). Being trained,
    it is then another classifier (0.886 against 0.851 on real test clips; docs/benchmarks.md,
    "The yardstick in channels-last"); `memory_format=torch.contiguous_format` gives the old one."""

    def __init__(self, classes: int, width: int = 32,
                 memory_format: torch.memory_format = torch.channels_last) -> None:
        super().__init__()
        self.memory_format = memory_format

        def block(c_in, c_out):
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out),
                                 nn.ReLU(), nn.Conv2d(c_out, c_out, 3, padding=1),
                                 nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))

        self.body = nn.Sequential(block(3, width), block(width, 2 * width),
                                  block(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten())  # (N, 4w)
        self.head = nn.Linear(4 * width, classes)
        self.num_features = 4 * width
        self.to(memory_format=memory_format)

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        return self.body(frames.contiguous(memory_format=self.memory_format))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(frames))


def frames_of(videos_uint8: np.ndarray) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 -> (B*T, 3, H, W) floats in [-1, 1]."""
    x = torch.from_numpy(videos_uint8).float() / 127.5 - 1.0
    return x.flatten(0, 1).permute(0, 3, 1, 2).contiguous()


def train_item_classifier(videos: np.ndarray, labels: np.ndarray, classes: int, epochs: int,
                          batch_size: int, lr: float, width: int = 32, seed: int = 0,
                          memory_format: torch.memory_format = torch.channels_last
                          ) -> tuple[ItemClassifier, list[dict]]:
    """Trains on every frame of the given clips (each frame carries its clip's label), with
    random shifts so that position, which moves in our clips, is not what it learns."""
    torch.manual_seed(seed)
    frames = frames_of(videos)
    frame_labels = torch.from_numpy(np.repeat(labels, videos.shape[1]))
    model = ItemClassifier(classes, width, memory_format)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * max(len(frames) // batch_size, 1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps)
    rng = torch.Generator().manual_seed(seed)
    history, step = [], 0
    model.train()
    with tqdm(total=steps, desc="evaluator", unit="step", mininterval=5) as progress:
        for epoch in range(epochs):
            order = torch.randperm(len(frames), generator=rng)
            for begin in range(0, len(order) - batch_size + 1, batch_size):
                index = order[begin:begin + batch_size]
                shift = torch.randint(-3, 4, (2,), generator=rng).tolist()
                x = torch.roll(frames[index], shifts=shift, dims=(2, 3))
                loss = F.cross_entropy(model(x), frame_labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                step += 1
                progress.update(1)
                if step % 50 == 0:
                    history.append({"step": step, "epoch": epoch, "loss": float(loss)})
    model.eval().requires_grad_(False)
    return model, history


@torch.no_grad()
def classify_videos(model: ItemClassifier, videos: np.ndarray, batch_size: int = 512
                    ) -> tuple[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor]:
    """Per clip: the predicted class (the argmax of its frames' mean probabilities), the share of
    its frames that agree with it (class consistency), its mean penultimate features (B, F) and
    those mean probabilities (B, classes)."""
    frames = frames_of(videos)
    probs, feats = [], []
    for begin in range(0, len(frames), batch_size):
        f = model.features(frames[begin:begin + batch_size])
        feats.append(f)
        probs.append(model.head(f).softmax(dim=1))
    b, t = videos.shape[:2]
    probs_bt = torch.cat(probs).view(b, t, -1)
    clip_probs = probs_bt.mean(dim=1)
    predicted = clip_probs.argmax(dim=1)
    consistency = (probs_bt.argmax(dim=2) == predicted[:, None]).float().mean(dim=1)
    return (predicted.numpy(), consistency.numpy(), torch.cat(feats).view(b, t, -1).mean(dim=1),
            clip_probs)


EVALUATOR_WEIGHTS, EVALUATOR_CONFIG = "evaluator.safetensors", "evaluator.json"


def evaluator_files(model: ItemClassifier, class_names: list[str], record: dict
                    ) -> dict[str, bytes]:
    """The frozen evaluator as {file: bytes}: weights plus what rebuilds it."""
    config = {"classes": len(class_names), "class_names": class_names,
              "width": model.num_features // 4, **record}
    weights = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    return {EVALUATOR_WEIGHTS: save_safetensors_bytes(weights),
            EVALUATOR_CONFIG: json.dumps(config, indent=2).encode()}


def load_evaluator(files: dict[str, bytes]) -> tuple[ItemClassifier, dict]:
    if EVALUATOR_WEIGHTS not in files or EVALUATOR_CONFIG not in files:
        raise ValueError(f"evaluator files need {EVALUATOR_WEIGHTS} and {EVALUATOR_CONFIG}, "
                         f"got {sorted(files)}")
    config = json.loads(files[EVALUATOR_CONFIG])
    model = ItemClassifier(config["classes"], config["width"])
    model.load_state_dict(load_safetensors_bytes(files[EVALUATOR_WEIGHTS]))
    return model.eval().requires_grad_(False), config


def fit_evaluator(train, test, config) -> tuple[ItemClassifier, dict]:
    """Train on `train` (LabelledClips), freeze, and measure on the real `test` clips.

    Returns:
        the frozen classifier and a record: clip accuracy on real test clips, chance level,
        class consistency, the training history.
    """
    classes = len(train.class_names)
    model, history = train_item_classifier(train.frames, train.labels, classes, config.epochs,
                                           config.batch_size, config.lr, config.width,
                                           config.seed)
    predicted, consistency, _, _ = classify_videos(model, test.frames)
    counts = np.bincount(test.labels, minlength=classes)
    record = {"test_clip_accuracy": float((predicted == test.labels).mean()),
              "chance_accuracy": float(counts.max() / counts.sum()),
              "test_class_consistency": float(consistency.mean()),
              "train_clips": len(train), "test_clips": len(test), "classes": classes,
              "history": history}
    return model, record


EVALUATOR_RECORD = "record.json"  # in the cache only, beside the evaluator's files


def trained_evaluator(train, test, config, cache: ResultCache) -> tuple[dict[str, bytes], dict]:
    """`fit_evaluator`'s classifier as files (`evaluator_files`) and its record, from `cache`
    where the same clips (`train`, `test`: LabelledClips), settings, threads and code trained one
    before; else trained and added to it."""
    key = result_key("evaluator", train=clips_inputs(train), test=clips_inputs(test),
                     config=config.model_dump(), threads=torch.get_num_threads())
    if (files := cache.get_files(key)) is not None and EVALUATOR_RECORD in files:
        logger.info("the evaluator from the cache (same clips, settings and code)")
        return files, json.loads(files.pop(EVALUATOR_RECORD))
    model, record = fit_evaluator(train, test, config)
    files = evaluator_files(model, train.class_names, record)
    cache.put_files(key, files | {EVALUATOR_RECORD: json.dumps(record).encode()})
    return files, record
