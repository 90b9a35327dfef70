"""What the distillation target draws: the frozen evaluator's reading of the stored teacher pairs,
per prompted class (a diagnosis of the student's worst class, never a selection rule).

    python benchmarks/teacher_pairs_classes.py --data data \
        [--out benchmarks/results/teacher_pairs_classes.json] \
        [--draw-steps 12 25 --draw-class pullover --draw-count 96 --draw-cfg 3 5 7.5]

`--data` is a data root after `posttrain` and `evaluation` ran (`05_model_input/
teacher_pairs.safetensors`, `06_models/evaluator`, the clip manifest). Pairs whose caption names
no Fashion-MNIST class (the real-video captions) are left out. Prints, per class, how many pairs
its captions got, the share the evaluator reads as that class and the three classes it reads
most; writes the same to OUT. With `--draw-steps`, the teacher also draws DRAW_COUNT new
samples for the training captions of DRAW_CLASS at each of those step counts (the pairs' guidance
and shift, the same noise for every count), read the same way: does the step count of the pairs
decide what they draw? The first 8 samples of each step count, with what the evaluator reads,
go to a contact sheet beside OUT (`<out stem>.png`). `--draw-cfg` draws at each of these guidance
scales instead of the pairs' own (at the first of `--draw-steps`, 12 if none is given): would the
pairs draw the class at a stronger guidance?
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from seaweed_apt import storage
from seaweed_apt.apt.teacher_pairs import sample_teacher_pairs
from seaweed_apt.config.loading import load_config
from seaweed_apt.config.posttrain import DistillConfig
from seaweed_apt.evaluation.data import item_label
from seaweed_apt.evaluation.evaluator import classify_videos, load_evaluator
from seaweed_apt.reporting.figures import contact_sheet_png
from seaweed_apt.text.caption_table import load_caption_table
from seaweed_apt.training.checkpoint import load_model

# Noise seeds of the drawn samples: far from the pairs' (SEED_STRIDE multiples) and evaluation's.
DRAW_SEED = 7_000_000


def caption_labels(manifest: pd.DataFrame) -> dict[int, int]:
    """Caption-table row -> the class its clips show, for captions of one labelled item."""
    return {int(row): found[0] for row, metadata in
            zip(manifest["caption_row"], manifest["metadata"], strict=True)
            if (found := item_label(metadata))}


def reading(predicted: np.ndarray, label: int, names: list[str]) -> dict:
    """The share of `predicted` that is `label` and the three classes read most."""
    counts = np.bincount(predicted, minlength=len(names))
    return {"count": int(counts.sum()), "accuracy": float(counts[label] / counts.sum()),
            "read_as": {names[j]: int(counts[j]) for j in np.argsort(-counts)[:3] if counts[j]}}


def draw(teacher: torch.nn.Module, captions, manifest: pd.DataFrame, rows: list[int],
         count: int, steps: int, cfg_scale: float | None = None) -> np.ndarray:
    """`count` teacher samples of `steps` Euler steps for caption-table `rows`, cycling through
    them, at the pairs' shift and guidance (or `cfg_scale`). Returns (N, T, H, W, 3) uint8."""
    config = load_config(DistillConfig, "conf", "local", "parameters_posttrain.yml",
                         "posttrain.distill")
    shape = (int(manifest["num_frames"].iloc[0]), int(manifest["height"].iloc[0]),
             int(manifest["width"].iloc[0]))
    return sample_teacher_pairs(teacher, captions, np.arange(count) + DRAW_SEED,
                                np.array([rows[i % len(rows)] for i in range(count)]), shape,
                                steps, config.cfg_scale if cfg_scale is None else cfg_scale,
                                shift=config.timestep_shift)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/teacher_pairs_classes.json"))
    parser.add_argument("--draw-steps", type=int, nargs="*", default=[])
    parser.add_argument("--draw-class", default="pullover")
    parser.add_argument("--draw-count", type=int, default=96)
    parser.add_argument("--draw-cfg", type=float, nargs="*", default=[])
    args = parser.parse_args()
    evaluator_dir = args.data / "06_models" / "evaluator"
    evaluator, config = load_evaluator({p.name: p.read_bytes() for p in evaluator_dir.iterdir()})
    names = config["class_names"]
    pairs = storage.load_safetensors(args.data / "05_model_input" / "teacher_pairs.safetensors")
    manifest = pd.read_parquet(args.data / "03_primary" / "clip_manifest.parquet")
    labels_of = caption_labels(manifest)
    labelled = np.array([int(r) in labels_of for r in pairs["caption_row"]])
    torch.set_num_threads(1)
    predicted = classify_videos(evaluator, pairs["sample"][labelled])[0]
    labels = np.array([labels_of[int(r)] for r in pairs["caption_row"][labelled]])
    rows = {}
    print(f"{labelled.sum()} of {len(labelled)} pairs prompt a class; the evaluator reads "
          f"{(predicted == labels).mean():.3f} of them as it")
    for label, name in enumerate(names):
        if (labels == label).any():
            rows[name] = reading(predicted[labels == label], label, names)
            show(name, rows[name])
    drawn, shown, labels_shown = {}, [], []
    draws = [(steps, None) for steps in args.draw_steps]
    draws += [((args.draw_steps or [12])[0], cfg) for cfg in args.draw_cfg]
    if draws:
        label = names.index(args.draw_class)
        train_rows = set(manifest.loc[manifest["split"] == "train", "caption_row"])
        draw_rows = sorted(r for r, found in labels_of.items()
                           if found == label and r in train_rows)
        if not draw_rows:
            raise SystemExit(f"no training caption prompts {args.draw_class}")
        teacher = load_model(str(args.data / "06_models" / "teacher"),
                             use_ema=True).requires_grad_(False)
        captions = load_caption_table(args.data / "04_feature" / "caption_embeddings.safetensors")
    for steps, cfg in draws:
        sample = draw(teacher, captions, manifest, draw_rows,
                      args.draw_count, steps, cfg)
        read = classify_videos(evaluator, sample)[0]
        key = f"{steps}" if cfg is None else f"{steps}, cfg {cfg:g}"
        drawn[key] = reading(read, label, names)
        shown.append(sample[:8])
        labels_shown += [f"{key}, read {names[k]}" for k in read[:8]]
        show(f"{args.draw_class}, {key} steps", drawn[key])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "data": str(args.data.resolve()), "pairs": int(labelled.sum()),
        "accuracy": float((predicted == labels).mean()), "classes": rows,
        "drawn": {"class": args.draw_class, "by_steps": drawn} if drawn else {}},
        indent=2) + "\n")
    if shown:
        args.out.with_suffix(".png").write_bytes(
            contact_sheet_png(np.concatenate(shown), labels_shown))
    print(f"written: {args.out}" + (f" and {args.out.with_suffix('.png')}" if shown else ""))


def show(name: str, row: dict) -> None:
    print(f"{name:<20} {row['count']:>5} clips  read as it {row['accuracy']:.3f}  most: "
          + ", ".join(f"{k} {v}" for k, v in row["read_as"].items()))


if __name__ == "__main__":
    main()
