"""data_curation's probe and decode/cut nodes, on Ray tasks as a run does them, over a folder of a
user's own videos with the timestamps and caption rows of issue 36's cases 5, 6 and 8."""

import numpy as np
import pandas as pd
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from pipelines.data_curation import create_pipeline, nodes
from pipelines.video_folders import VideoFoldersDataset
from seaweed_apt.config.ray import RayConfig
from seaweed_apt.data.curation_on_ray import read_candidate_frames
from seaweed_apt.data.video_io import decode_video
from tests.data.timed_videos import gap_video, late_video, steady_video, video_stream_only
from tests.helpers import base_config


def test_a_users_folder_of_timestamp_gaps_late_starts_and_repeated_rows(
        tmp_path, curation_config, ray_local):
    folder = tmp_path / "mine"
    folder.mkdir()
    gap_video(folder / "cctv.mp4", before=20, after=24, gap_s=7200)  # case 5
    late_video(folder / "late.mp4", late_s=2.5, seconds=2.0)  # case 8
    steady_video(folder / "walk.mp4", 24, fps=8)  # case 6: listed twice, otherwise
    steady_video(folder / "jump.mp4", 32, fps=8)  # case 6: hinted test, then train
    (folder / "captions.csv").write_text(
        "file,caption,split_hint\n"
        "cctv.mp4,a test pattern sliding,\n"
        "late.mp4,a test pattern sliding,\n"
        "walk.mp4,a test pattern sliding,train\n"
        "jump.mp4,a test pattern sliding,test\n"
        "walk.mp4,a red ball bouncing,test\n"
        "jump.mp4,a test pattern sliding,train\n")
    candidates_dir = tmp_path / "candidates"
    catalog = DataCatalog({
        "raw_videos": MemoryDataset(VideoFoldersDataset({"mine": str(folder)}).load()),
        "params:curation": MemoryDataset(curation_config),
        "params:ray": MemoryDataset(base_config(RayConfig, "ray", "parameters.yml")),
        "candidate_clips_dir": MemoryDataset(str(candidates_dir)),
    })
    pipeline = create_pipeline().from_nodes("probe_raw_videos").to_nodes("cut_candidate_clips")
    SequentialRunner().run(pipeline, catalog)
    clips = catalog.load("candidate_clips")
    quarantine = nodes.quarantine_rejects(catalog.load("curation_rejects"), pd.DataFrame())

    # Case 6: each conflicting file is one row naming both lines; neither reaches a split.
    assert dict(zip(quarantine["file"], quarantine["reason"], strict=True)) == {
        "walk.mp4": "caption_conflict", "jump.mp4": "caption_conflict"}
    detail = quarantine.set_index("file")["detail"]
    assert "lines 4 and 6" in detail["walk.mp4"] and "lines 5 and 7" in detail["jump.mp4"]
    # Case 5: the 2-hour gap writes no row (it wrote ~3,600) and no clip spans it.
    starts = clips.groupby("source_file")["start_frame"].apply(list).to_dict()
    assert starts == {"cctv.mp4": [0, 20], "late.mp4": [0]}
    frames = read_candidate_frames(str(candidates_dir), clips["candidate_part"].to_numpy(),
                                   clips["candidate_offset"].to_numpy())
    steady, _ = decode_video(steady_video(tmp_path / "steady.mp4", 44), 8, 32, 32)
    cctv = clips["source_file"].eq("cctv.mp4").to_numpy()
    assert np.array_equal(frames[cctv], np.stack([steady[0:16], steady[20:36]]))
    # Case 8: the late video's one clip is its own first 2 s, no copy of its first frame before.
    alone, _ = decode_video(video_stream_only(folder / "late.mp4", tmp_path / "alone.mp4"),
                            8, 32, 32)
    assert np.array_equal(frames[~cctv][0], alone[:16])
