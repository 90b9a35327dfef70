"""Score teacher checkpoints on the evaluation stage's yardsticks, for quick recipe trials.

    python benchmarks/teacher_quality.py CHECKPOINT_OR_MODEL_DIR [...] [--samples 80 --steps 25]

Each model draws `--samples` videos (25 Euler steps, CFG 5) for the captions of held-out test
clips, one seed each (the same captions and seeds for every model), and is scored against the
real test clips: FD-EffLite0 (frame level) and the frozen evaluator's conditional accuracy
(`data/06_models/evaluator`, trained by the evaluation stage). Prints one row per model.
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.loading import load_config
from seaweed_apt.evaluation.data import load_split_clips
from seaweed_apt.evaluation.evaluator import load_evaluator
from seaweed_apt.evaluation.features import EffLite0Features
from seaweed_apt.evaluation.quality import extract_set_features, quality_figures
from seaweed_apt.evaluation.run import caption_text
from seaweed_apt.evaluation.systems import System, run_system
from seaweed_apt.training.checkpoint import load_model
from seaweed_apt.training.data import load_caption_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--samples", type=int, default=80)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--cfg", type=float, default=5.0)
    parser.add_argument("--data", default="data")
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
    extractor = EffLite0Features(config.feature_image_size)
    ref = extract_set_features(reference.frames, extractor, evaluator)
    captions = load_caption_table(f"{args.data}/04_feature/caption_embeddings.safetensors")
    text = caption_text(captions, prompts.caption_index)
    system = System("teacher", "teacher", args.steps, args.cfg, False)
    geometry = (reference.frames.shape[1], *reference.frames.shape[2:4])
    print(f"{'model':<70}{'FD-EffLite0':>12}{'spread':>8}{'cond. acc':>10}{'motion':>8}")
    for path in args.models:
        videos, _ = run_system(load_model(path), system, text, list(range(args.samples)),
                               geometry, 1.0, 32)
        figures = quality_figures(extract_set_features(videos, extractor, evaluator),
                                  prompts.captions, prompts.labels, ref, reference.captions)
        print(f"{path[-70:]:<70}{figures['fd_efflite0']:>12.1f}"
              f"{figures['fd_efflite0_spread']:>8.1f}{figures['conditional_accuracy']:>10.3f}"
              f"{figures['motion_ratio']:>8.2f}")


if __name__ == "__main__":
    main()
