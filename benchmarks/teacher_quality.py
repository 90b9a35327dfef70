"""Score teacher checkpoints on the evaluation stage's yardsticks, for quick recipe trials.

    python benchmarks/teacher_quality.py CHECKPOINT_OR_MODEL_DIR [...] [--samples 80 --steps 25]
        [--cfg 3 5 7.5 10] [--shift 6] [--confusion] [--blur 3 5 9] [--grid FOLDER] [--seed-sets 3]

Each model draws `--samples` videos (`--steps` Euler steps at guidance `--cfg` on a grid shifted
by `--shift`; all three default to conf's `sampling` block, the sampler the pipeline's grids and
the evaluation's teacher use; several `--cfg` values give a row each) for the captions of
held-out validation clips (`--split val`, the default: a trial chooses, so it never reads the test
split the stage reports), one seed each from the evaluation stage's
seed range of that split (the same captions and seeds for every model), and is scored against the
real clips of that split: FD-EffLite0 (frame level), the share moving along the captioned axis and
the frozen evaluator's conditional accuracy (`data/06_models/evaluator`, trained by the
evaluation stage).
Prints one row per model and guidance scale; `--confusion` adds each row's confusion matrix
(true item by predicted item, counts), so a reader can tell errors inside a family of items
(tops, footwear) from predictions piling on a few classes. `--blur K ...` first scores the
evaluator on the real test clips box-blurred with each kernel K: how much detail its accuracy
needs. `--seed-sets K` draws every row again from K sets of seeds (the same captions) and adds
a row of mean and standard deviation over them: the spread of a figure over seeds.
`--grid FOLDER` writes, per row, a PNG of each video's middle frame: one row per item (the
prompted one), up to 8 videos each, so every class can be looked at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from data_root import curated_clips
from PIL import Image

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.loading import load_config
from seaweed_apt.config.sampling import SamplingConfig
from seaweed_apt.data.video_io import video_grid
from seaweed_apt.evaluation.data import load_split_clips
from seaweed_apt.evaluation.evaluator import classify_videos, load_evaluator
from seaweed_apt.evaluation.features import EffLite0Features
from seaweed_apt.evaluation.quality import MotionReading, extract_set_features, quality_figures
from seaweed_apt.evaluation.run import blurred, caption_text, prompt_seeds
from seaweed_apt.evaluation.systems import System, run_system
from seaweed_apt.text.caption_table import load_caption_table
from seaweed_apt.training.checkpoint import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--samples", type=int, default=80)
    sampling = load_config(SamplingConfig, "conf", "local", "parameters_pretrain.yml", "sampling")
    parser.add_argument("--steps", type=int, default=sampling.steps)
    parser.add_argument("--cfg", type=float, nargs="+", default=[sampling.cfg_scale])
    parser.add_argument("--shift", type=float, default=sampling.shift,
                        help="the sampler's time shift (default: sampling.shift)")
    parser.add_argument("--confusion", action="store_true")
    parser.add_argument("--blur", type=int, nargs="*", default=[])
    parser.add_argument("--grid", default=None, help="folder for one PNG per model and cfg")
    parser.add_argument("--seed-sets", type=int, default=1)
    parser.add_argument("--data", default="data")
    parser.add_argument("--split", default="val", choices=["val", "test"],
                        help="val for trials (choosing); test only for a figure reported once")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(2)
    clips = curated_clips(args.data)
    config = load_config(EvaluationConfig, "conf", "local", "parameters_evaluation.yml",
                         "evaluation", num_samples=args.samples)
    reference = load_split_clips(clips, args.split)
    prompts = load_split_clips(clips, args.split, limit=args.samples, seed=1)
    evaluator_dir = f"{args.data}/06_models/evaluator"
    evaluator, _ = load_evaluator({name: open(f"{evaluator_dir}/{name}", "rb").read()
                                   for name in ("evaluator.safetensors", "evaluator.json")})
    extractor = OnDevice(EffLite0Features(config.feature_image_size), args.device)
    motion = MotionReading(config.motion.item_threshold, config.motion.min_speed_px,
                           load_model(args.models[0]).patch[0])
    ref = extract_set_features(reference.frames, extractor, evaluator, motion)
    captions = load_caption_table(f"{args.data}/04_feature/caption_embeddings.safetensors")
    text = caption_text(captions, prompts.caption_row)
    names = reference.class_names
    for kernel in [0, *args.blur]:
        frames = blurred(reference.frames, kernel) if kernel else reference.frames
        predicted = classify_videos(evaluator, frames)[0]
        print(f"evaluator on {len(frames)} real {args.split} clips, box blur {kernel or 'none'}: "
              f"accuracy {np.mean(predicted == reference.labels):.3f}")
    geometry = (reference.frames.shape[1], *reference.frames.shape[2:4])
    print(f"{'model':<64}{'cfg':>6}{'FD-EffLite0':>12}{'spread':>8}{'cond. acc':>10}"
          f"{'axis':>8}")
    for path in args.models:
        model = load_model(path, device=args.device)
        for cfg in args.cfg:
            system = System("teacher", "teacher", args.steps, cfg, False)
            rows = []
            for seed_set in range(args.seed_sets):
                seeds = prompt_seeds(seed_set, args.split, args.samples)
                videos, _ = run_system(model, system, text, seeds, geometry, args.shift, 32)
                features = extract_set_features(videos, extractor, evaluator, motion)
                figures = quality_figures(features, prompts.captions, prompts.labels,
                                          prompts.axes, names, ref, reference.captions)
                rows.append(figures)
                label = path[-64:] if args.seed_sets == 1 else f"{path[-56:]} seeds {seed_set}"
                print(f"{label:<64}{cfg:>6.1f}{figures['fd_efflite0']:>12.1f}"
                      f"{figures['fd_efflite0_spread']:>8.1f}"
                      f"{figures['conditional_accuracy']:>10.3f}"
                      f"{figures['motion_axis_accuracy']:>8.2f}")
                if args.confusion:
                    print(confusion_table(prompts.labels, features.predicted, names))
                if args.grid and seed_set == 0:
                    out = Path(args.grid) / f"{Path(path).name}_{args.steps}steps_cfg{cfg:g}.png"
                    save_class_grid(videos, prompts.labels, names, out)
                    print(f"grid (rows: {', '.join(names)}): {out}")
            if args.seed_sets > 1:
                fd = np.array([r["fd_efflite0"] for r in rows])
                accuracy = np.array([r["conditional_accuracy"] for r in rows])
                print(f"{'  mean +- std over ' + str(args.seed_sets) + ' seed sets':<64}{cfg:>6.1f}"
                      f"{fd.mean():>12.1f}{fd.std(ddof=1):>8.1f}{accuracy.mean():>10.3f}"
                      f" +- {accuracy.std(ddof=1):.3f}")


class OnDevice(torch.nn.Module):
    """Runs a frozen network on `device` and hands its output back on the CPU."""

    def __init__(self, net: torch.nn.Module, device: str) -> None:
        super().__init__()
        self.net, self.device = net.to(device), device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.device)).cpu()


def save_class_grid(videos: np.ndarray, labels: np.ndarray, names: list[str], out: Path,
                    per_class: int = 8) -> None:
    """Middle frames of (B, T, H, W, 3) uint8 `videos`, one row per prompted item (class order),
    up to `per_class` videos each, blank where a class has fewer."""
    _, frames, height, width, _ = videos.shape
    tiles = np.full((len(names) * per_class, 1, height, width, 3), 255, np.uint8)
    for item in range(len(names)):
        picked = np.flatnonzero(labels == item)[:per_class]
        tiles[item * per_class : item * per_class + len(picked), 0] = videos[picked, frames // 2]
    grid = video_grid(tiles, per_class)[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.kron(grid, np.ones((2, 2, 1), np.uint8))).save(out)


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
