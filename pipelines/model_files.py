"""The Kedro dataset of a network's exported files, apart from `pipelines/datasets.py` so that
only the stages that read a network depend on the checkpoint code (dvc.yaml deps)."""

from __future__ import annotations

from kedro.io import DatasetError

from pipelines.datasets import FileTreeDataset
from seaweed_apt import storage
from seaweed_apt.training.checkpoint import CONFIG_FILE, ModelFiles


class ModelFilesDataset(FileTreeDataset):
    """A network's exported files (`model.safetensors` + `config.json`): saved from {file name:
    bytes} as a `FileTreeDataset`, loaded as a `ModelFiles` handle (the folder's URI and its
    config), so one name serves nodes that read the weights and Ray workers that open the
    folder themselves."""

    def load(self) -> ModelFiles:  # type: ignore[override]
        if not self._exists():
            raise DatasetError(f"{self._path} has no {CONFIG_FILE}: run the stage that writes "
                               "it first")
        return ModelFiles.at(self._path)

    def _exists(self) -> bool:
        return storage.exists(storage.join(self._path, CONFIG_FILE))
