"""The file layout of APT's kept checkpoints, `step-NNNNN/{model.safetensors,config.json}`: written
by posttrain, read by its grids and by evaluation. Light on purpose (no Ray, no torch)."""

from __future__ import annotations


def checkpoint_folder(step: int) -> str:
    """The folder of a kept APT checkpoint inside the exported file tree: `step-NNNNN`."""
    return f"step-{step:05d}"


def kept_checkpoint_steps(kept: dict[str, bytes]) -> list[int]:
    """Update counts of the kept APT checkpoints ({'step-00300/model.safetensors': ...})."""
    return sorted({int(name.split("/")[0].removeprefix("step-")) for name in kept})


def kept_checkpoint_files(kept: dict[str, bytes], step: int) -> dict[str, bytes]:
    """The model files of the kept checkpoint at update `step`."""
    prefix = checkpoint_folder(step) + "/"
    files = {name[len(prefix):]: data for name, data in kept.items() if name.startswith(prefix)}
    if not files:
        raise KeyError(f"no APT checkpoint at update {step}: have {kept_checkpoint_steps(kept)}")
    return files
