"""Users' own folders, shaped like those in public bug reports against video-dataset tools: other
containers and codecs, two names for one video, caption files in other encodings, a folder on S3
that changes. Each file that cannot be used is quarantined naming why; the others come out."""

import codecs
import os
import shutil

import ffmpeg
import numpy as np
import pandas as pd
import pytest

from seaweed_apt.config.curation import SplitConfig
from seaweed_apt.data.curation import cut_clips, probe_one, probe_videos
from seaweed_apt.data.raw_index import index_video_folder
from seaweed_apt.data.splits import assign_splits
from seaweed_apt.data.video_io import probe_video
from tests.helpers import base_config


def _video(path, source="testsrc2", seconds=2.0, audio_seconds=None, pix_fmt="yuv420p",
           vcodec="libx264"):
    """A small lavfi test-pattern video (`source`: testsrc2, life, mandelbrot, ...)."""
    video = ffmpeg.input(f"{source}=size=64x64:rate=25", f="lavfi", t=seconds)
    streams = [video]
    if audio_seconds:
        streams.append(ffmpeg.input("sine=frequency=440", f="lavfi", t=audio_seconds))
    (ffmpeg.output(*streams, str(path), vcodec=vcodec, pix_fmt=pix_fmt, loglevel="error")
     .overwrite_output().run())
    return path


def _curate(folder, config, source_set="mine"):
    index = index_video_folder(folder, source_set)
    candidates = cut_clips(index, probe_videos(index), config)
    reasons = dict(zip(candidates.rejects["file"], candidates.rejects["reason"], strict=True))
    return index, candidates, reasons


def test_the_video_streams_length_decides_not_the_containers(tmp_path, curation_config):
    """Case 1: an MKV with 2 s of video and 10 s of audio says 10 s for the container."""
    _video(tmp_path / "walk.mkv", seconds=2, audio_seconds=10, vcodec="libx264")
    probe = probe_video(tmp_path / "walk.mkv")
    assert probe.duration_s == pytest.approx(2.0, abs=0.1)
    assert probe.num_frames == 50
    (tmp_path / "walk.txt").write_text("a test pattern")
    _, candidates, reasons = _curate(tmp_path, curation_config)
    assert reasons == {}
    assert list(candidates.clips["source_file"]) == ["walk.mkv"]


def test_png_coded_frames_in_a_mov_are_a_video_and_a_png_file_a_still(tmp_path, curation_config):
    """Case 2: whether a file is a still comes from its frame count, not its codec's name."""
    _video(tmp_path / "overlay.mov", pix_fmt="rgba", vcodec="png")
    (ffmpeg.input("testsrc2=size=64x64:rate=1", f="lavfi")
     .output(str(tmp_path / "picture.png"), vframes=1, loglevel="error").run())
    for name in ("overlay.txt", "picture.txt"):
        (tmp_path / name).write_text("a test pattern")
    _, candidates, reasons = _curate(tmp_path, curation_config)
    assert reasons == {"picture.png": "still_image"}
    assert list(candidates.clips["source_file"]) == ["overlay.mov"]
    assert probe_video(tmp_path / "overlay.mov").codec == "png"


def test_two_files_with_one_stem_get_distinct_clip_ids(tmp_path, curation_config):
    """Case 3: `walk.mp4` and `walk.mkv` both curated, ids unique; a unique stem keeps its id."""
    _video(tmp_path / "walk.mp4")
    _video(tmp_path / "walk.mkv", source="life")
    _video(tmp_path / "run.mp4", source="mandelbrot")
    pd.DataFrame({"file": ["walk.mp4", "walk.mkv", "run.mp4"],
                  "caption": ["a pattern", "cells of life", "a fractal"]}).to_csv(
        tmp_path / "captions.csv", index=False)
    _, candidates, reasons = _curate(tmp_path, curation_config)
    assert reasons == {}
    ids = dict(zip(candidates.clips["source_file"], candidates.clips["clip_id"], strict=True))
    assert ids == {"walk.mkv": "mine/walk.mkv/00000", "walk.mp4": "mine/walk.mp4/00000",
                   "run.mp4": "mine/run/00000"}


def test_the_same_bytes_twice_are_curated_once_and_never_in_two_splits(tmp_path,
                                                                      curation_config):
    """Case 4: one file under two names, hinted train and test: kept once (the test copy), the
    other quarantined naming it, so no sha256 is in two splits."""
    (tmp_path / "train").mkdir()
    (tmp_path / "holdout").mkdir()
    _video(tmp_path / "train" / "jump.mp4", source="life")
    shutil.copyfile(tmp_path / "train" / "jump.mp4", tmp_path / "holdout" / "jump_copy.mp4")
    _video(tmp_path / "train" / "other.mp4")
    pd.DataFrame({"file": ["train/jump.mp4", "holdout/jump_copy.mp4", "train/other.mp4"],
                  "caption": ["cells of life", "cells of life", "a pattern"],
                  "split_hint": ["train", "test", "train"]}).to_csv(
        tmp_path / "captions.csv", index=False)
    _, candidates, reasons = _curate(tmp_path, curation_config)
    assert reasons == {"train/jump.mp4": "duplicate"}
    detail = candidates.rejects.set_index("file").loc["train/jump.mp4", "detail"]
    assert "mine/holdout/jump_copy.mp4" in detail
    split = assign_splits(candidates.clips, base_config(SplitConfig, "split"))
    assert (split.groupby("source_sha256")["split"].nunique() == 1).all()
    assert split.set_index("source_file").loc["holdout/jump_copy.mp4", "split"] == "test"


def test_a_link_to_a_file_beside_it_curates_one_and_a_broken_link_is_quarantined(
        tmp_path, curation_config):
    """Case 5: `alias.mp4 -> real.mp4` crashed the whole curation; a link to nothing was skipped
    without a word."""
    _video(tmp_path / "real.mp4")
    os.symlink("real.mp4", tmp_path / "alias.mp4")
    os.symlink("gone.mp4", tmp_path / "dangling.mp4")
    for name in ("real", "alias", "dangling"):
        (tmp_path / f"{name}.txt").write_text("a test pattern")
    _, candidates, reasons = _curate(tmp_path, curation_config)
    assert len(candidates.clips) == 1
    assert reasons["dangling.mp4"] == "missing_file"
    assert reasons == {"alias.mp4": "duplicate", "dangling.mp4": "missing_file"}
    assert list(candidates.clips["source_file"]) == ["real.mp4"]  # the file, not its link


def test_caption_files_in_utf8_with_bom_and_utf16_are_read(tmp_path, curation_config):
    """Case 6: Excel's UTF-8 with BOM and Notepad's UTF-16 (BOM) are text we read."""
    _video(tmp_path / "cafe.mp4")
    _video(tmp_path / "ball.mp4", source="life")
    (tmp_path / "captions.csv").write_bytes(
        codecs.BOM_UTF8 + "file,caption\r\ncafe.mp4,a café sign\r\n".encode())
    (tmp_path / "ball.txt").write_text("a ball in a café", encoding="utf-16")
    index, candidates, reasons = _curate(tmp_path, curation_config)
    assert reasons == {}
    assert dict(zip(index["file"], index["caption"], strict=True)) == {
        "ball.mp4": "a ball in a café", "cafe.mp4": "a café sign"}
    assert len(candidates.clips) == 2


def test_a_caption_file_in_another_encoding_quarantines_only_what_it_captions(tmp_path,
                                                                             curation_config):
    """Case 6: a cp1252 captions.csv and a cp1252 sidecar: the files they caption are
    quarantined naming the caption file and the byte; the folder's others come out."""
    bad_csv = tmp_path / "bad_csv"
    bad_csv.mkdir()
    _video(bad_csv / "cafe.mp4")
    _video(bad_csv / "own.mp4", source="life")
    (bad_csv / "captions.csv").write_bytes("file,caption\r\ncafe.mp4,a café\r\n".encode("cp1252"))
    (bad_csv / "own.txt").write_text("cells of life")  # its own sidecar: not the CSV's
    _, candidates, reasons = _curate(bad_csv, curation_config)
    assert reasons == {"cafe.mp4": "caption_unreadable"}
    detail = candidates.rejects["detail"].iloc[0]
    assert "captions.csv" in detail and "0xe9" in detail and "UTF-8" in detail
    assert list(candidates.clips["source_file"]) == ["own.mp4"]

    bad_sidecar = tmp_path / "bad_sidecar"
    bad_sidecar.mkdir()
    _video(bad_sidecar / "ball.mp4")
    _video(bad_sidecar / "ok.mp4", source="life")
    (bad_sidecar / "ball.txt").write_bytes("a ball in a café".encode("cp1252"))
    (bad_sidecar / "ok.txt").write_text("cells of life")
    _, candidates, reasons = _curate(bad_sidecar, curation_config)
    assert reasons == {"ball.mp4": "caption_unreadable"}
    assert "ball.txt" in candidates.rejects["detail"].iloc[0]
    assert list(candidates.clips["source_file"]) == ["ok.mp4"]


def test_a_captions_csv_without_its_columns_quarantines_its_files_not_the_run(tmp_path,
                                                                            curation_config):
    _video(tmp_path / "a.mp4")
    (tmp_path / "captions.csv").write_text("name,text\na.mp4,a pattern\n")
    _, candidates, reasons = _curate(tmp_path, curation_config)
    assert reasons == {"a.mp4": "caption_unreadable"}
    assert "'file' column" in candidates.rejects["detail"].iloc[0]


def test_an_s3_source_set_follows_remote_deletions(tmp_path, s3_endpoint, monkeypatch,
                                                   curation_config):
    """Case 8: a folder on S3 (a prefix with spaces): an object deleted remotely is gone from the
    next load, a changed caption file read again; the videos are read from S3 where they are
    probed and decoded."""
    import boto3

    from pipelines.video_folders import VideoFoldersDataset

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="videos")
    for name, source in (("a.mp4", "testsrc2"), ("b.mp4", "life")):
        s3.put_object(Bucket="videos", Key=f"prefix with spaces/{name}",
                      Body=_video(tmp_path / name, source=source).read_bytes())
    s3.put_object(Bucket="videos", Key="prefix with spaces/captions.csv",
                  Body=b"file,caption\na.mp4,one\nb.mp4,two\n")
    dataset = VideoFoldersDataset({"mine": "s3://videos/prefix with spaces/"})
    index = dataset.load()
    assert sorted(index["file"]) == ["a.mp4", "b.mp4"]
    assert index["path"].str.startswith("s3://videos/prefix with spaces/").all()
    candidates = cut_clips(index, probe_videos(index), curation_config)
    assert sorted(candidates.clips["source_file"]) == ["a.mp4", "b.mp4"]

    s3.delete_object(Bucket="videos", Key="prefix with spaces/b.mp4")
    s3.put_object(Bucket="videos", Key="prefix with spaces/captions.csv",
                  Body=b"file,caption\na.mp4,one again\n")
    index = dataset.load()
    assert list(index["file"]) == ["a.mp4"]
    assert list(index["caption"]) == ["one again"]


def test_an_object_deleted_after_listing_is_quarantined_as_missing(tmp_path, s3_endpoint,
                                                                  monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    boto3.client("s3").create_bucket(Bucket="gone")
    row = probe_one("s3://gone/withdrawn.mp4")
    assert row["error_reason"] == "missing_file"
    assert "s3://gone/withdrawn.mp4 does not exist" in row["error_detail"]


def test_of_two_copies_the_one_with_a_readable_caption_is_kept(tmp_path, curation_config):
    """A duplicate whose own caption file is unreadable must not win over a usable copy."""
    _video(tmp_path / "a.mp4")
    shutil.copyfile(tmp_path / "a.mp4", tmp_path / "b.mp4")
    (tmp_path / "a.txt").write_bytes("caf\xe9".encode("latin-1"))  # not UTF-8
    (tmp_path / "b.txt").write_text("a test pattern")
    _, candidates, reasons = _curate(tmp_path, curation_config)
    assert reasons == {"a.mp4": "duplicate"}
    assert list(candidates.clips["source_file"]) == ["b.mp4"]
    detail = candidates.rejects.set_index("file").loc["a.mp4", "detail"]
    assert "mine/b.mp4, which is kept" in detail and "a.txt" in detail  # its own problem too


def _decodes_spied(monkeypatch) -> dict[str, int]:
    """File name -> frames its decode gave, for every decode curation runs from now on."""
    from seaweed_apt.data import curation

    counts, decode = {}, curation.decode_video

    def spy(path, *args, **kwargs):
        frames, warnings = decode(path, *args, **kwargs)
        counts[os.path.basename(path)] = len(frames)
        return frames, warnings

    monkeypatch.setattr(curation, "decode_video", spy)
    return counts


def test_a_timestamp_gap_is_closed_and_no_clip_spans_it(tmp_path, curation_config, monkeypatch):
    """Issue 36, case 5: 44 frames with 2 hours between the 20th and the 21st (motion-triggered
    CCTV) decoded to 57,644 frames, copies of the 20th filling the gap, and ~3,600 static rows.
    The gap is closed: the decode gives the 44 frames the file holds, each run of frames between
    gaps is cut into its own windows, and nothing is quarantined."""
    from tests.data.timed_videos import gap_video, steady_video

    folder = tmp_path / "cctv"
    folder.mkdir()
    gap_video(folder / "cctv.mp4", before=20, after=24, gap_s=7200)
    (folder / "cctv.txt").write_text("a test pattern sliding")
    same_frames = steady_video(tmp_path / "steady.mp4", 44)  # outside the folder
    decoded = _decodes_spied(monkeypatch)
    _, candidates, reasons = _curate(folder, curation_config)
    assert decoded == {"cctv.mp4": 44}
    assert reasons == {}
    assert list(candidates.clips["start_frame"]) == [0, 20]  # not 16: that window spans the gap
    from seaweed_apt.data.video_io import decode_video

    steady, _ = decode_video(same_frames, curation_config.fps, curation_config.width,
                             curation_config.height)
    assert np.array_equal(candidates.frames[0], steady[0:16])
    assert np.array_equal(candidates.frames[1], steady[20:36])


def test_a_video_stream_that_starts_late_is_curated_from_its_first_frame(tmp_path,
                                                                        curation_config):
    """Issue 36, case 8: audio from 0 s, video from 2.5 s: the decode filled 2.5 s with copies of
    the first frame, a static window and a kept clip starting with 4 copies. Now the decode
    starts at the video's first frame: the same frames as the video stream alone."""
    from seaweed_apt.data.video_io import decode_video
    from tests.data.timed_videos import late_video, video_stream_only

    folder = tmp_path / "late"
    folder.mkdir()
    late_video(folder / "late.mp4", late_s=2.5, seconds=2.0, audio_s=5.0)
    (folder / "late.txt").write_text("a test pattern sliding")
    alone = video_stream_only(folder / "late.mp4", tmp_path / "late_video_only.mp4")
    expected, _ = decode_video(alone, curation_config.fps, curation_config.width,
                               curation_config.height)
    assert len(expected) == 16  # 2 s at 8 fps
    _, candidates, reasons = _curate(folder, curation_config)
    assert reasons == {}
    assert list(candidates.clips["start_frame"]) == [0]
    assert np.array_equal(candidates.frames[0], expected)
    for clip in candidates.frames:  # testsrc2 changes every frame: no copy in any kept clip
        steps = np.abs(np.diff(clip.astype(int), axis=0)).reshape(len(clip) - 1, -1).max(axis=1)
        assert (steps > 0).all()


def _captions_listing_files_twice(folder):
    """walk.mp4 twice with other captions and hints, jump.mp4 hinted test then train, run.mp4
    twice alike (the case-6 captions.csv of issue 36, plus an identical pair)."""
    _video(folder / "walk.mp4")
    _video(folder / "jump.mp4", source="life")
    _video(folder / "run.mp4", source="mandelbrot")
    (folder / "captions.csv").write_text(
        "file,caption,split_hint\n"
        "walk.mp4,a test pattern sliding,train\n"
        "jump.mp4,cells of the game of life,test\n"
        "run.mp4,a fractal,\n"
        "walk.mp4,a red ball bouncing,test\n"
        "jump.mp4,cells of the game of life,train\n"
        "run.mp4,a fractal,\n")


def test_conflicting_caption_rows_quarantine_their_file_and_identical_rows_warn(
        tmp_path, curation_config, caplog):
    """Issue 36, case 6: a file listed twice took its last row without a word, so a video hinted
    test then train was trained on. Rows that differ quarantine the file naming both lines;
    identical rows are one caption and a warning."""
    _captions_listing_files_twice(tmp_path)
    (tmp_path / "walk.txt").write_text("a sidecar does not settle the conflict")
    with caplog.at_level("WARNING", logger="seaweed_apt.data.raw_index"):
        index, candidates, reasons = _curate(tmp_path, curation_config)
    assert reasons == {"walk.mp4": "caption_conflict", "jump.mp4": "caption_conflict"}
    details = candidates.rejects.set_index("file")["detail"]
    assert "lines 2 and 5" in details["walk.mp4"]
    assert "'a test pattern sliding'" in details["walk.mp4"]
    assert "'a red ball bouncing'" in details["walk.mp4"]
    assert "lines 3 and 6" in details["jump.mp4"] and "split_hint" in details["jump.mp4"]
    assert "game of life" not in details["jump.mp4"]  # only what differs is named
    assert list(candidates.clips["source_file"]) == ["run.mp4"]
    assert dict(zip(index["file"], index["caption"], strict=True))["run.mp4"] == "a fractal"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("run.mp4" in message and "lines 4 and 7" in message for message in warnings)


def test_runs_between_gaps_shorter_than_a_clip_are_said_once(tmp_path, curation_config):
    """Issue 36, case 5: frames of a run too short for a clip are not dropped without a word:
    one clip-level row per file names them, a file-level `too_short` where no run gives a clip."""
    from tests.data.timed_videos import gap_video

    gap_video(tmp_path / "brief.mp4", before=10, after=24, gap_s=3600)
    gap_video(tmp_path / "blips.mp4", before=10, after=10, gap_s=3600)
    for name in ("brief", "blips"):
        (tmp_path / f"{name}.txt").write_text("a test pattern sliding")
    _, candidates, _ = _curate(tmp_path, curation_config)
    assert list(candidates.clips["start_frame"]) == [10]  # brief.mp4's second run
    rows = candidates.rejects.set_index("file")
    assert tuple(rows.loc["brief.mp4", ["level", "reason", "clip_start"]]) == (
        "clip", "timestamp_gap", 0)
    assert "frames 0-9" in rows.loc["brief.mp4", "detail"]
    assert "1 h 0 min" in rows.loc["brief.mp4", "detail"]
    assert tuple(rows.loc["blips.mp4", ["level", "reason"]]) == ("file", "too_short")
    assert "closed 1 gap(s)" in rows.loc["blips.mp4", "detail"]
