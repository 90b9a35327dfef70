"""data_curation at two levels: a slice with an in-memory catalog, and the whole pipeline as a user
runs it (`kedro run --pipeline=...`, the deprecated spelling users still type) under conf/test:
the `curated_root` fixture's run, which every later stage's fixture starts from."""

import json

import pandas as pd
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from pipelines.data_curation import create_pipeline
from seaweed_apt.config.curation import SplitConfig
from seaweed_apt.data.raw_index import index_video_folder
from tests.helpers import base_config


def test_probe_cut_split_slice_in_memory(real_clips_dir, curation_config, ray_local, tmp_path):
    """Probe and decode/cut on Ray tasks: the same rows and frames as the thread pool's."""
    from seaweed_apt.config.ray import RayConfig
    from seaweed_apt.data.curation import cut_clips, probe_videos
    from seaweed_apt.data.curation_on_ray import read_candidate_frames

    raw = index_video_folder(real_clips_dir, "real_clips")
    catalog = DataCatalog({
        "raw_videos": MemoryDataset(raw),
        "params:curation": MemoryDataset(curation_config.model_copy(update={"files_per_task": 3})),
        "params:ray": MemoryDataset(base_config(RayConfig, "ray", "parameters.yml")),
        "params:split": MemoryDataset(base_config(SplitConfig, "split")),
        "candidate_clips_dir": MemoryDataset(str(tmp_path / "candidates")),
    })
    pipeline = create_pipeline().from_nodes("probe_raw_videos").to_nodes("split_clips_by_source")
    SequentialRunner().run(pipeline, catalog)
    clips = catalog.load("split_clips")
    frames = read_candidate_frames(str(tmp_path / "candidates"),
                                   clips["candidate_part"].to_numpy(),
                                   clips["candidate_offset"].to_numpy())
    rejects = catalog.load("curation_rejects")
    in_process = cut_clips(raw, probe_videos(raw), curation_config)
    pd.testing.assert_frame_equal(clips[in_process.clips.columns].reset_index(drop=True),
                                  in_process.clips)
    assert (frames == in_process.frames).all()
    from seaweed_apt.data.curation_on_ray import probe_videos_on_ray

    pd.testing.assert_frame_equal(probe_videos_on_ray(raw, catalog.load("params:ray"), 3),
                                  probe_videos(raw))
    assert len(clips) == len(frames) > 20
    assert frames.shape[1:] == (16, 32, 32, 3)
    assert set(rejects["file"]) == {"realshort.mp4"}  # 1.2 s: shorter than one clip
    assert clips.groupby("source_file")["split"].nunique().max() == 1
    assert set(clips["source_codec"]) >= {"h264", "mpeg2video", "mjpeg", "mpeg1video"}


def test_whole_pipeline_from_the_command_line(curated_root):
    """`curated_root` ran `kedro run --pipeline=data_curation` with a broken file added."""
    raw_root = curated_root
    manifest = pd.read_parquet(raw_root / "03_primary" / "clip_manifest.parquet")
    quarantine = pd.read_parquet(raw_root / "02_intermediate" / "quarantine.parquet")
    summary = json.loads((raw_root / "08_reporting" / "data_curation" / "summary.json").read_text())
    files = quarantine[quarantine["level"] == "file"]
    assert dict(zip(files["file"], files["reason"], strict=True)) == {
        "broken.mp4": "not_a_video", "realshort.mp4": "too_short"}
    assert summary["clips_out"] == len(manifest) and summary["files_quarantined"] == 2
    assert set(manifest["split"]) == {"train", "val", "test"}
    fashion = manifest[manifest["source_set"] == "moving_fashion"]
    assert (fashion["split"] == "test").sum() == 4  # 2 test videos x 2 windows

    from safetensors.numpy import load_file

    shards = sorted((raw_root / "03_primary" / "clip_shards").glob("*.safetensors"))
    total = 0
    for shard in shards:
        tensors = load_file(str(shard))
        rows = manifest.iloc[tensors["clip_row"]]
        assert (rows["shard"] == shard.stem).all()
        # A shard alone says each clip's caption: its row of the caption table.
        assert (tensors["caption_row"] == rows["caption_row"].to_numpy()).all()
        assert tensors["frames"].shape[1:] == (16, 32, 32, 3)  # conf/base curates 32x32
        total += len(tensors["frames"])
    assert total == len(manifest)
    embeddings = load_file(str(raw_root / "04_feature" / "caption_embeddings.safetensors"))
    assert embeddings["pooled"].shape == (manifest["caption"].nunique(), 384)
    assert (raw_root / "08_reporting" / "data_curation" / "gx_data_docs" / "index.html").exists()


def test_held_out_compositions_never_reach_a_training_shard(curated_root):
    """No train or val clip shows an (item, motion) pair the fetch config holds out; the test
    split has clips of such pairs (the unseen prompt set)."""
    from seaweed_apt.config.fetch import MovingFashionConfig
    from seaweed_apt.data.fashion_mnist import CLASS_NAMES
    from seaweed_apt.evaluation.data import compositions, unseen_composition_mask

    config = base_config(MovingFashionConfig, "fetch.moving_fashion")
    held = {f"{CLASS_NAMES.index(item)}/{axis}" for item, axis in config.held_out_compositions}
    manifest = pd.read_parquet(curated_root / "03_primary" / "clip_manifest.parquet")
    found = compositions(manifest)
    assert not set(found[manifest["split"].isin(["train", "val"])]) & held
    unseen = unseen_composition_mask(manifest)
    assert unseen[manifest["split"] == "test"].any()
    assert not unseen[manifest["split"] != "test"].any()
    assert set(found[unseen]) <= held and unseen[found.isin(held)].all()
