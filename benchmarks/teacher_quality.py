"""Score teacher checkpoints on the evaluation stage's yardsticks, for quick recipe trials.

    python benchmarks/teacher_quality.py CHECKPOINT_OR_MODEL_DIR [...] [--samples 80 --steps 25]
        [--cfg 3 5 7.5 10] [--confusion] [--blur 3 5 9]

Each model draws `--samples` videos (25 Euler steps, CFG 5; several `--cfg` values give a row
each) for the captions of held-out test clips, one seed each (the same captions and seeds for
every model), and is scored against the real test clips: FD-EffLite0 (frame level) and the frozen
evaluator's conditional accuracy (`data/06_models/evaluator`, trained by the evaluation stage).
Prints one row per model and guidance scale; `--confusion` adds each row's confusion matrix
(true item by predicted item, counts), so a reader can tell errors inside a family of items
(tops, footwear) from predictions piling on a few classes. `--blur K ...` first scores the
evaluator on the real test clips box-blurred with each kernel K: how much detail its accuracy
needs.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.loading import load_config
from seaweed_apt.evaluation.data import load_split_clips
from seaweed_apt.evaluation.evaluator import classify_videos, load_evaluator
from seaweed_apt.evaluation.features import EffLite0Features
from seaweed_apt.evaluation.quality import extract_set_features, quality_figures
from seaweed_apt.evaluation.run import blurred, caption_text
from seaweed_apt.evaluation.systems import System, run_system
from seaweed_apt.training.checkpoint import load_model
from seaweed_apt.training.data import load_caption_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--samples", type=int, default=80)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--cfg", type=float, nargs="+", default=[5.0])
    parser.add_argument("--confusion", action="store_true")
    parser.add_argument("--blur", type=int, nargs="*", default=[])
    parser.add_argument("--data", default="data")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(2)
    manifest = pd.read_parquet(f"{args.data}/03_primary/clip_manifest.parquet")
    shards = f"{args.data}/03_primary/clip_shards"
    config = load_config(EvaluationConfig, "conf", "local", "parameters_evaluation.yml",
                         "evaluation", num_samples=args.samples)
    reference = load_split_clips(manifest, shards, "test")
    prompts = load_split_clips(manifest, shards, "test", limit=args.samples, seed=1)
    evaluator_dir = f"{args.data}/06_models/evaluator"
    evaluator, _ = load_evaluator({name: open(f"{evaluator_dir}/{name}", "rb").read()
                                   for name in ("evaluator.safetensors", "evaluator.json")})
    extractor = OnDevice(EffLite0Features(config.feature_image_size), args.device)
    ref = extract_set_features(reference.frames, extractor, evaluator)
    captions = load_caption_table(f"{args.data}/04_feature/caption_embeddings.safetensors")
    text = caption_text(captions, prompts.caption_index)
    names = reference.class_names
    for kernel in [0, *args.blur]:
        frames = blurred(reference.frames, kernel) if kernel else reference.frames
        predicted = classify_videos(evaluator, frames)[0]
        print(f"evaluator on {len(frames)} real test clips, box blur {kernel or 'none'}: "
              f"accuracy {np.mean(predicted == reference.labels):.3f}")
    geometry = (reference.frames.shape[1], *reference.frames.shape[2:4])
    print(f"{'model':<64}{'cfg':>6}{'FD-EffLite0':>12}{'spread':>8}{'cond. acc':>10}"
          f"{'motion':>8}")
    for path in args.models:
        model = load_model(path, device=args.device)
        for cfg in args.cfg:
            system = System("teacher", "teacher", args.steps, cfg, False)
            videos, _ = run_system(model, system, text, list(range(args.samples)), geometry,
                                   1.0, 32)
            features = extract_set_features(videos, extractor, evaluator)
            figures = quality_figures(features, prompts.captions, prompts.labels, ref,
                                      reference.captions)
            print(f"{path[-64:]:<64}{cfg:>6.1f}{figures['fd_efflite0']:>12.1f}"
                  f"{figures['fd_efflite0_spread']:>8.1f}"
                  f"{figures['conditional_accuracy']:>10.3f}{figures['motion_ratio']:>8.2f}")
            if args.confusion:
                print(confusion_table(prompts.labels, features.predicted, names))


class OnDevice(torch.nn.Module):
    """Runs a frozen network on `device` and hands its output back on the CPU."""

    def __init__(self, net: torch.nn.Module, device: str) -> None:
        super().__init__()
        self.net, self.device = net.to(device), device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.device)).cpu()


def confusion_table(labels: np.ndarray, predicted: np.ndarray, names: list[str]) -> str:
    """Counts of (true item, predicted item) as text: one row per true item."""
    short = [name[:7] for name in names]
    lines = [f"{'true / predicted':<18}" + "".join(f"{n:>8}" for n in short)]
    for true, name in enumerate(short):
        row = [int(np.sum((labels == true) & (predicted == guess)))
               for guess in range(len(names))]
        if sum(row):
            lines.append(f"{name:<18}" + "".join(f"{count:>8}" for count in row))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
