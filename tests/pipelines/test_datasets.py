"""Our Kedro datasets take a local path or a storage URI alike: each round-trips on a folder and
on a real S3-compatible server (moto on loopback), credentials and endpoint from the environment
as for every S3 client of the project."""

import numpy as np
import pytest

from pipelines.datasets import (
    FileTreeDataset,
    OptionalYAMLDataset,
    PathDataset,
    SafetensorsDataset,
)


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path, monkeypatch):
    if request.param == "local":
        return str(tmp_path / "data")
    import boto3

    endpoint = request.getfixturevalue("s3_endpoint")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    bucket = f"datasets-{request.node.name.split('[')[0][5:30].replace('_', '-')}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/a prefix/data"


def test_safetensors_round_trip(root):
    dataset = SafetensorsDataset(f"{root}/04_feature/captions.safetensors", metadata={"k": "v"})
    assert not dataset.exists()
    arrays = {"tokens": np.arange(12, dtype=np.float32).reshape(3, 4),
              "mask": np.array([True, False, True])}
    dataset.save(arrays)
    assert dataset.exists()
    loaded = dataset.load()
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        assert np.array_equal(loaded[key], value) and loaded[key].dtype == value.dtype


def test_file_tree_is_replaced_whole(root):
    dataset = FileTreeDataset(f"{root}/08_reporting/report")
    dataset.save({"report.md": b"# first", "samples/a.png": b"png-a", "old.txt": b"gone soon"})
    dataset.save({"report.md": b"# second", "samples/a.png": b"png-a2"})
    assert dataset.load() == {"report.md": b"# second", "samples/a.png": b"png-a2"}


def test_path_dataset_hands_out_a_uri_workers_can_open(root):
    from seaweed_apt import storage

    SafetensorsDataset(f"{root}/03_primary/shards/s0.safetensors").save(
        {"frames": np.zeros((2, 3), np.uint8)})
    uri = PathDataset(f"{root}/03_primary/shards").load()
    assert storage.load_safetensors(storage.join(uri, "s0.safetensors"))["frames"].shape == (2, 3)
    assert PathDataset(f"{root}/06_models/runs", must_exist=False).load()
    with pytest.raises(Exception, match="does not exist: run the stage that writes it"):
        PathDataset(f"{root}/06_models/teacher").load()


def test_optional_yaml_is_none_when_absent(root):
    from seaweed_apt import storage

    assert OptionalYAMLDataset(f"{root}/dvc.lock").load() is None
    storage.write_bytes(f"{root}/dvc.lock", b"schema: '2.0'\n")
    assert OptionalYAMLDataset(f"{root}/dvc.lock").load() == {"schema": "2.0"}


def test_model_files_are_saved_as_bytes_and_loaded_as_a_handle_workers_can_open(root):
    """One name for a network's files: the node that trains it saves {file: bytes}; the next
    loads a `ModelFiles` (URI + config) that reads, builds or hands the folder on."""
    import json

    import torch

    from pipelines.model_files import ModelFilesDataset
    from seaweed_apt.training.checkpoint import load_model
    from tests.registry.conftest import GENERATION_BLOCK, generator_files

    dataset = ModelFilesDataset(f"{root}/06_models/teacher")
    assert not dataset.exists()
    with pytest.raises(Exception, match="has no config.json: run the stage that writes it"):
        dataset.load()
    files = generator_files(3)
    dataset.save(files)
    handle = dataset.load()
    assert handle.uri.endswith("06_models/teacher") and handle.config == json.loads(
        files["config.json"])
    assert handle.read() == files
    assert handle.generation.model_dump() == GENERATION_BLOCK
    x, t = torch.randn(1, 3, 4, 32, 32), torch.rand(1)
    text = handle.load_model().null_text(1)
    with torch.no_grad():  # the handle's network is the one a worker builds from its URI
        assert torch.equal(handle.load_model()(x, t, text), load_model(handle.uri)(x, t, text))


def test_a_safetensors_file_dataset_saves_arrays_and_loads_their_uri(root):
    from pipelines.datasets import SafetensorsFileDataset
    from seaweed_apt import storage

    dataset = SafetensorsFileDataset(f"{root}/05_model_input/teacher_pairs.safetensors")
    with pytest.raises(Exception, match="does not exist: run the stage that writes it"):
        dataset.load()
    dataset.save({"sample": np.ones((2, 3), np.uint8)})
    assert storage.load_safetensors(dataset.load())["sample"].shape == (2, 3)


def test_curated_clips_are_written_together_and_loaded_as_one_handle(root):
    """The manifest, the shards (made one at a time, stale ones deleted) and the caption table
    under one name; the handle carries the manifest and the URIs workers open."""
    import pandas as pd

    from pipelines.curated_clips import CuratedClipsDataset
    from seaweed_apt import storage
    from seaweed_apt.data.curated import CuratedClipsParts

    dataset = CuratedClipsDataset(f"{root}/03_primary/clip_manifest.parquet",
                                  f"{root}/03_primary/clip_shards",
                                  f"{root}/04_feature/caption_embeddings.safetensors")
    with pytest.raises(Exception, match="does not exist: run data_curation first"):
        dataset.load()
    manifest = pd.DataFrame({"num_frames": [4, 4], "height": [8, 8], "width": [6, 6],
                             "shard": ["train-00000", "train-00001"], "shard_offset": [0, 0]})
    shard = {"frames": np.zeros((1, 4, 8, 6, 3), np.uint8), "caption_row": np.array([0])}
    table = {"pooled": np.ones((1, 3), np.float32)}
    dataset.save(CuratedClipsParts(manifest, {"train-00000": shard, "train-00001": lambda: shard,
                                              "val-00000": shard}, table))
    dataset.save(CuratedClipsParts(manifest, {"train-00000": shard,
                                              "train-00001": lambda: shard}, table))
    clips = dataset.load()
    pd.testing.assert_frame_equal(clips.manifest, manifest)
    assert clips.clip_shape == (4, 8, 6)
    assert sorted(storage.list_files(clips.shards_uri)) == ["train-00000.safetensors",
                                                            "train-00001.safetensors"]
    assert storage.load_safetensors(clips.caption_table_uri)["pooled"].shape == (1, 3)
