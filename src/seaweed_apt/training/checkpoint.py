"""Self-describing checkpoints: safetensors weights + JSON config, written atomically.

A checkpoint folder holds one `<name>.safetensors` per named network (the unwrapped `model`, its
average `ema`, an APT `discriminator`), one `<name>.pt` per named optimiser (loaded with
weights_only=True), `trainer_state.json` (step, metric history) and `config.json` (model config +
the resolved training config). Anything downstream rebuilds the network from the folder alone
with `load_model`. A generator's exported files also say how to generate: `config.json`'s
`generation` block (`config.generation.GenerationConfig`), stamped by the stage that exports them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import ValidationError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import load_file, save_file
from torch import nn

from seaweed_apt import storage
from seaweed_apt.diffusion.generation import GenerationConfig
from seaweed_apt.models.dit import DiTConfig, VideoDiT

MODEL_FILE, EMA_FILE = "model.safetensors", "ema.safetensors"
STATE_FILE, CONFIG_FILE = "trainer_state.json", "config.json"
GENERATION_KEY = "generation"


class CheckpointError(Exception):
    """A checkpoint that is missing a file, truncated, or does not match its config."""


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


def _state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in unwrap(model).state_dict().items()}


def write_checkpoint(folder: str | Path, networks: dict[str, nn.Module],
                     optimizers: dict[str, torch.optim.Optimizer], state: dict, config: dict
                     ) -> Path:
    """Write `networks` as `<name>.safetensors` (unwrapped from DDP) and `optimizers` as
    `<name>.pt`, with `state` and `config` as JSON. `networks` must hold the exported one as
    `model`; `ema` is its average where there is one.

    Writes into a temp folder beside `folder`, then renames: a crash never leaves a half folder
    under the name `folder` (what a crash leaves is a dot-folder, removed by the next write)."""
    if "model" not in networks:
        raise ValueError(f"a checkpoint needs a network named 'model', got {sorted(networks)}")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    for leftover in folder.parent.glob(f".{folder.name}.*"):  # a writer killed mid-write
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, module in networks.items():
            save_file(_state_dict(module), str(staging / f"{name}.safetensors"))
        for name, optimizer in optimizers.items():
            torch.save(optimizer.state_dict(), staging / f"{name}.pt")
        (staging / STATE_FILE).write_text(json.dumps(state))
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))
        # A folder cannot be replaced in one rename: move the old one aside first, so that a
        # crash between the two renames leaves it whole (as `.<name>.previous-*`), never half.
        previous = None
        if folder.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{folder.name}.previous-",
                                             dir=folder.parent))
            os.replace(folder, previous / folder.name)
        os.replace(staging, folder)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def read_config(folder: str | Path) -> dict:
    """`config.json` of a checkpoint folder, local or at a storage URI.

    Raises: CheckpointError when the folder has none."""
    try:
        return json.loads(storage.read_bytes(storage.join(folder, CONFIG_FILE)))
    except FileNotFoundError:
        raise CheckpointError(f"{folder} has no {CONFIG_FILE}: not a seaweed-apt checkpoint") \
            from None


def model_from_state(config: dict, weights: dict[str, torch.Tensor], source: str) -> VideoDiT:
    model = VideoDiT(DiTConfig(**config["model"]))
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise CheckpointError(f"{source}: weights do not match config.json: {error}") from None
    return model.eval()


def load_model(folder: str | Path, use_ema: bool = True, device: str | torch.device = "cpu"
               ) -> VideoDiT:
    """Rebuild the network from a checkpoint folder, local or at a storage URI (EMA weights where
    present and asked for).

    Raises: CheckpointError naming the file that is missing or cannot be read."""
    config = read_config(folder)
    ema_file = storage.join(folder, EMA_FILE)
    weights_file = ema_file if use_ema and storage.exists(ema_file) \
        else storage.join(folder, MODEL_FILE)
    try:
        if storage.is_remote(weights_file):
            weights = load_safetensors_bytes(storage.read_bytes(weights_file))
        else:
            weights = load_file(weights_file, device=str(device))
    except (OSError, Exception) as error:  # safetensors raises its own error type on truncation
        raise CheckpointError(f"cannot read {weights_file}: {error}") from None
    return model_from_state(config, weights, str(weights_file)).to(device)


def load_model_from_files(files: dict[str, bytes], device: str | torch.device = "cpu") -> VideoDiT:
    """The same as `load_model`, from a {file name: bytes} mapping (a Kedro file-tree dataset)."""
    if CONFIG_FILE not in files or MODEL_FILE not in files:
        raise CheckpointError(f"model files need {CONFIG_FILE} and {MODEL_FILE}, "
                              f"got {sorted(files)}")
    config = json.loads(files[CONFIG_FILE])
    weights = load_safetensors_bytes(files[MODEL_FILE])
    return model_from_state(config, weights, "model files").to(device)


def restore_training(folder: str | Path, networks: dict[str, nn.Module],
                     optimizers: dict[str, torch.optim.Optimizer]) -> dict:
    """Load the named networks and optimisers of a checkpoint into live objects (`model` must be
    there; any other name is loaded when its file is). Returns the trainer state."""
    folder = Path(folder)
    for name, module in networks.items():
        path = folder / f"{name}.safetensors"
        if name == "model" or path.exists():
            unwrap(module).load_state_dict(load_file(str(path)))
    for name, optimizer in optimizers.items():
        path = folder / f"{name}.pt"
        if path.exists():
            optimizer.load_state_dict(torch.load(path, weights_only=True))
    return json.loads((folder / STATE_FILE).read_text())


def export_model_files(folder: str | Path, use_ema: bool = True) -> dict[str, bytes]:
    """The deployable part of a checkpoint folder (local or at a storage URI): the (EMA) weights
    as model.safetensors + config.json, with the sha256 of the weights recorded in config.json."""
    ema_file = storage.join(folder, EMA_FILE)
    from_ema = use_ema and storage.exists(ema_file)
    weights = storage.read_bytes(ema_file if from_ema else storage.join(folder, MODEL_FILE))
    config = read_config(folder)
    config["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    config["weights_are_ema"] = from_ema
    return {MODEL_FILE: weights, CONFIG_FILE: json.dumps(config, indent=2, sort_keys=True).encode()}


def read_generation(config: dict, source: str) -> GenerationConfig:
    """The `generation` block of a generator's `config.json` (a dict already read); `source`
    names the files in errors.

    Raises:
        CheckpointError: the block is missing (files exported before checkpoints carried one:
            rerunning the stage that made them stamps it, reading a finished run back without
            training) or is not a valid block.
    """
    if GENERATION_KEY not in config:
        raise CheckpointError(
            f"{source}: {CONFIG_FILE} has no '{GENERATION_KEY}' block (clip shape, fps, steps, "
            "text encoder); these files were exported before generators carried one: rerun the "
            "stage that made them (a finished run is read back, not retrained)")
    try:
        return GenerationConfig.model_validate(config[GENERATION_KEY])
    except ValidationError as error:
        raise CheckpointError(f"{source}: invalid '{GENERATION_KEY}' block in {CONFIG_FILE}: "
                              f"{error}") from None


def generation_of_files(files: dict[str, bytes]) -> GenerationConfig:
    """`read_generation` of a {file name: bytes} mapping (a Kedro file-tree dataset).

    Raises: CheckpointError as `read_generation`, or when there is no config.json."""
    if CONFIG_FILE not in files:
        raise CheckpointError(f"model files need {CONFIG_FILE}, got {sorted(files)}")
    return read_generation(json.loads(files[CONFIG_FILE]), "model files")


def with_generation(files: dict[str, bytes], generation: GenerationConfig) -> dict[str, bytes]:
    """`files` (from `export_model_files`) with `generation` written into their config.json."""
    config = json.loads(files[CONFIG_FILE])
    config[GENERATION_KEY] = generation.model_dump()
    return files | {CONFIG_FILE: json.dumps(config, indent=2, sort_keys=True).encode()}


@dataclass(frozen=True)
class ModelFiles:
    """A network's exported files (`model.safetensors` + `config.json`, from `export_model_files`)
    at `uri`, an absolute local path or a storage URI: what a stage hands the next one, by
    reference, so that Ray workers read the files themselves. `config` is its config.json."""

    uri: str
    config: dict

    @classmethod
    def at(cls, uri: str | Path) -> ModelFiles:
        """The files at `uri` (made absolute where local).

        Raises: CheckpointError when there is no config.json there."""
        uri = storage.absolute(uri)
        return cls(uri, read_config(uri))

    @property
    def generation(self) -> GenerationConfig:
        """Raises: CheckpointError as `read_generation`."""
        return read_generation(self.config, self.uri)

    def read(self) -> dict[str, bytes]:
        """Every file, {relative path: bytes} (what Ray tasks receive through the object store)."""
        return {relative: storage.read_bytes(uri)
                for relative, uri in storage.list_files(self.uri).items()}

    def load_model(self, device: str | torch.device = "cpu") -> VideoDiT:
        """The network, built from the files alone (`load_model`).

        Raises: CheckpointError naming the file that is missing or cannot be read."""
        return load_model(self.uri, use_ema=False, device=device)
