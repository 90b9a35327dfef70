"""Fingerprint every tensor that training writes at `conf/test`, to show that a refactor of the
training code left its behaviour unchanged (the pipeline is deterministic on one machine kind).

    .venv/bin/python benchmarks/training_fingerprint.py --out before.json   # on the old commit
    .venv/bin/python benchmarks/training_fingerprint.py --out after.json --compare before.json

(`.venv/bin/python`: the script runs `kedro` and `seaweed-apt` from beside its interpreter.)

Runs fetch-data, data_curation, pretrain and posttrain under `conf/test` in a scratch data root,
then records the sha256 of each tensor of:
  - every Ray Train checkpoint of every stage (weights, EMA, discriminator, optimiser states),
    keyed by `<stage>/step-<N>/<object>/<tensor>`, so run names (a hash of the config) and file
    names may change between the two commits;
  - the exported models (`06_models/teacher`, `distilled`, `apt/step-*`).
With `--compare`, prints each key whose hash differs, is missing or is new; exits 1 unless every
tensor is equal. (Only hashes are kept: to see by how much a tensor differs, keep both data roots
with `--keep` and load the two checkpoints.) `benchmarks/results/training_fingerprint_b44f318.json`
is the old commit's fingerprint, to compare against without rerunning it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

PROJECT = Path(__file__).resolve().parents[1]
# Checkpoint files by role, so the old file name (`d_optimizer.pt`, before checkpoints named their
# objects) and the new one give the same key; any other file is keyed by its stem.
OBJECT_NAMES = {"d_optimizer.pt": "discriminator_optimizer"}


def _digest(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, torch.Tensor):
        out[prefix] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(f"{prefix}.{index}", item, out)


def tensors_of(folder: Path) -> dict[str, torch.Tensor]:
    found: dict[str, torch.Tensor] = {}
    for path in sorted(folder.iterdir()):
        name = OBJECT_NAMES.get(path.name, path.stem)
        if path.suffix == ".safetensors":
            found |= {f"{name}/{k}": v for k, v in load_file(str(path)).items()}
        elif path.suffix == ".pt":
            _flatten(name, torch.load(path, weights_only=True)["state"], found)
    return found


def collect(root: Path) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    for state_file in sorted((root / "06_models").glob("*runs/*/checkpoint_*/trainer_state.json")):
        folder = state_file.parent
        stage = json.loads((folder / "config.json").read_text())["stage"]
        step = json.loads(state_file.read_text())["step"]
        tensors |= {f"run/{stage}/step-{step:05d}/{k}": v for k, v in tensors_of(folder).items()}
    for name in ("teacher", "distilled"):
        tensors |= {f"export/{name}/{k}": v
                    for k, v in tensors_of(root / "06_models" / name).items()}
    for folder in sorted((root / "06_models" / "apt").glob("step-*")):
        tensors |= {f"export/apt/{folder.name}/{k}": v for k, v in tensors_of(folder).items()}
    return tensors


def run_pipelines(root: Path) -> None:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1"}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "seaweed-apt"), "fetch-data", "--env", "test",
                    "--out", str(root / "01_raw")], cwd=PROJECT, env=env, check=True)
    for pipeline in ("data_curation", "pretrain", "posttrain"):
        subprocess.run([str(bin_dir / "kedro"), "run", "--env", "test", "--pipelines", pipeline,
                        "--params", f"data_root={root}"], cwd=PROJECT, env=env, check=True)


def compare(before: dict[str, str], after: dict[str, str]) -> int:
    differ = [k for k in sorted(before.keys() & after.keys()) if before[k] != after[k]]
    missing, new = sorted(before.keys() - after.keys()), sorted(after.keys() - before.keys())
    for key in differ:
        print(f"differs: {key}")
    for key in missing:
        print(f"missing after: {key}")
    for key in new:
        print(f"new after: {key}")
    equal = len(before.keys() & after.keys()) - len(differ)
    print(f"{equal} tensors equal, {len(differ)} differ, {len(missing)} missing, {len(new)} new")
    return 0 if not (differ or missing or new) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="JSON of {key: sha256 prefix}")
    parser.add_argument("--compare", help="an earlier --out to compare with")
    parser.add_argument("--keep", help="keep the scratch data root here")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="fingerprint-"))
    root = scratch / "data"
    try:
        run_pipelines(root)
        tensors = collect(root)
        fingerprint = {key: _digest(value) for key, value in tensors.items()}
        Path(args.out).write_text(json.dumps(fingerprint, indent=1, sort_keys=True))
        print(f"{len(fingerprint)} tensors fingerprinted -> {args.out}")
        if args.keep:
            shutil.copytree(root, args.keep, dirs_exist_ok=True)
        if args.compare:
            return compare(json.loads(Path(args.compare).read_text()), fingerprint)
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
