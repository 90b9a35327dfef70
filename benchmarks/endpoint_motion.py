"""Does the served model move the item the way it is told, in words unlike any caption?

    python benchmarks/endpoint_motion.py [--url http://127.0.0.1:8000 --videos 4 --seed 0]
        [--out benchmarks/results/endpoint_motion.json]

Asks a running endpoint (`seaweed-apt serve`; `make demo` leaves one up) for `--videos` videos of
each prompt below (seeds `--seed`, `--seed` + 1, ...), as raw frames (`format: npy`, the (N, T, H,
W, 3) uint8 frames the model made), and reads each video's axis with the evaluation's own motion
reader (`evaluation/motion.py`, thresholds from conf's `evaluation.motion`). The prompts are worded
unlike every training caption ("... bouncing left and right / up and down / diagonally" and their
paraphrases): they are the six of issue 38's first endpoint check, kept so runs compare. Prints, per
prompt, the axes read and how many follow the asked one, and the total.
"""

from __future__ import annotations

import argparse
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np

from seaweed_apt.config.deployment import DeploymentConfig
from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.config.loading import load_config
from seaweed_apt.evaluation.motion import item_paths, read_axes
from seaweed_apt.serving.deploy import post_generate

PROMPTS = {  # prompt -> the axis it asks for (evaluation/motion.py AXES)
    "a bag rising and falling": "vertical",
    "a bag sliding from side to side": "horizontal",
    "a sneaker moving up and down": "vertical",
    "a sneaker moving sideways": "horizontal",
    "a coat drifting from corner to corner": "diagonal",
    "a coat going up and down": "vertical",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--videos", type=int, default=4, help="videos per prompt")
    parser.add_argument("--seed", type=int, default=0, help="first video's seed (then +1, ...)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/endpoint_motion.json"))
    args = parser.parse_args()
    motion = load_config(EvaluationConfig, "conf", "local", "parameters_evaluation.yml",
                         "evaluation").motion
    # The endpoint's bound on videos per request; seeds run on across requests.
    per_request = load_config(DeploymentConfig, "conf", "local", "parameters_deployment.yml",
                              "deployment").serve.max_num_videos
    rows, followed, version = [], 0, None
    for prompt, asked in PROMPTS.items():
        parts = []
        for first in range(0, args.videos, per_request):
            status, headers, body = post_generate(args.url, {
                "prompt": prompt, "seed": args.seed + first, "format": "npy",
                "num_videos": min(per_request, args.videos - first)})
            if status != 200:
                raise SystemExit(f"POST {args.url}/generate {prompt!r}: {status} {body[:300]!r}")
            version = {k.lower(): v for k, v in headers.items()}.get("x-model-version", version)
            parts.append(np.load(io.BytesIO(body)))  # (N, T, H, W, 3) uint8
        videos = np.concatenate(parts)
        axes = read_axes(item_paths(videos, motion.item_threshold),
                         motion.min_speed_px)[0].tolist()
        hits = sum(axis == asked for axis in axes)
        followed += hits
        rows.append({"prompt": prompt, "asked": asked, "read": axes, "followed": hits})
        print(f"{prompt!r:<42} asked {asked:<10} read {dict(Counter(axes))} -> {hits}/{len(axes)}")
    total = len(PROMPTS) * args.videos
    read = Counter(axis for row in rows for axis in row["read"])
    print(f"model {version}: {followed} of {total} along the asked axis; axes read {dict(read)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"url": args.url, "model_version": version,
                                    "seed": args.seed, "followed": followed, "total": total,
                                    "rows": rows}, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
