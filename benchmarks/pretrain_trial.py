"""A pretrain recipe trial in one process (no Ray), for comparing recipes quickly.

    python benchmarks/pretrain_trial.py OUT_DIR [--steps 800] [--params JSON] [--overrides JSON]

Runs the pipeline's training loop and pretrain phase (`seaweed_apt.training.loop`,
`pretrain_phase`) in one local process of 2 threads on the curated train clips, with the global
batch of the 2-worker default (2 x the per-worker batch), and writes checkpoints
OUT_DIR/step-NNNNN (EMA weights as `ema.safetensors`) that `benchmarks/teacher_quality.py` and
`benchmarks/caption_reliance.py` score; rerunning resumes from the latest. `--params` overrides
conf/base's `pretrain` block (e.g. '{"timesteps": {"shift": 3.0}}'), `--overrides` the model
preset's fields (e.g. '{"patch_t": 8}'). The random streams are those of the pipeline's rank 0;
docs/lab/pretrain_trials.md trials E-I ran an earlier copy of this loop with other streams.
"""

from __future__ import annotations

import argparse
import json
import logging

from data_root import curated_clips

from seaweed_apt.config.loading import load_parameters
from seaweed_apt.config.pretrain import PretrainConfig
from seaweed_apt.pretrain.pretrain_phase import build_pretrain_phase
from seaweed_apt.training.loop import LoopConfig, training_loop
from seaweed_apt.training.worker import LocalWorker

WORKERS = 2  # the CPU default's Ray workers: the global batch is this times the per-worker one


def merge(base: dict, changes: dict) -> dict:
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = merge(base[key], value) if isinstance(value, dict) and key in base else value
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--save-every", type=int, default=400)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--overrides", default="{}")
    parser.add_argument("--data", default="data")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    base = load_parameters("conf", "base", "parameters_pretrain.yml", "pretrain")
    base = merge(base, {"steps": args.steps, "checkpoint_every": args.save_every,
                        "log_every": 50, "model": {"overrides": json.loads(args.overrides)}})
    config = PretrainConfig.model_validate(merge(base, json.loads(args.params)))
    config = config.model_copy(update={"batch_size": WORKERS * config.batch_size,
                                       "image_batch_size": WORKERS * config.image_batch_size})
    loop_config = LoopConfig(config, curated_clips(args.data))
    done = training_loop(build_pretrain_phase, loop_config, LocalWorker.start(args.out, 2))
    print(f"done: {done}")


if __name__ == "__main__":
    main()
