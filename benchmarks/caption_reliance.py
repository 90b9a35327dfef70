"""How much a teacher uses its caption: x0 error with the right, a shuffled and the null caption.

    python benchmarks/caption_reliance.py CHECKPOINT_OR_MODEL_DIR [...] [--clips 96]

For validation clips noised to a few times t, the model's one-step clean estimate
x0_hat = x_t - t v_hat is compared to the clip with (a) its own caption, (b) another clip's
caption, (c) the learned null caption. A teacher that draws the prompted item needs (a) well
below (b) where the item is decided (high t); equal columns mean the caption is ignored.
"""

from __future__ import annotations

import argparse

import torch
from data_root import curated_clips

from seaweed_apt.diffusion.flow import interpolate
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.training.checkpoint import load_model
from seaweed_apt.training.data import load_worker_clips

TIMES = (0.3, 0.6, 0.8, 0.95)


def x0_error(model, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor, text: TextBatch) -> float:
    velocity = model(x_t, t, text)
    return ((x_t - t.view(-1, 1, 1, 1, 1) * velocity - x0) ** 2).mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--clips", type=int, default=96)
    parser.add_argument("--data", default="data")
    args = parser.parse_args()
    torch.set_num_threads(2)
    clips = load_worker_clips(curated_clips(args.data), split="val")
    rng = torch.Generator().manual_seed(0)
    count = min(args.clips, len(clips))
    x0, text = clips.batch(torch.randperm(len(clips), generator=rng)[:count])
    other = torch.roll(torch.arange(count), 7)  # another clip's caption, same caption mix
    shuffled = TextBatch(text.tokens[other], text.mask[other], text.pooled[other])
    noise = torch.randn(x0.shape, generator=rng)
    print(f"{'model':<50}{'t':>6}{'right':>10}{'shuffled':>10}{'null':>10}")
    for path in args.models:
        model = load_model(path)
        with torch.no_grad():
            for time in TIMES:
                t = torch.full((count,), time)
                x_t = interpolate(x0, noise, t)
                errors = [x0_error(model, x_t, t, x0, caption)
                          for caption in (text, shuffled, model.null_text(count))]
                print(f"{path[-50:]:<50}{time:>6}" + "".join(f"{e:>10.4f}" for e in errors))


if __name__ == "__main__":
    main()
