"""Bad raw files are quarantined, each with its own reason, and the good ones still come out."""

import shutil

import numpy as np

from seaweed_apt.data.curation import cut_clips, probe_videos
from seaweed_apt.data.raw_index import index_video_folder


def _make_bad_files(folder, good_mp4):
    (folder / "zero.mp4").write_bytes(b"")
    data = good_mp4.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (folder / "notes.mp4").write_text("this is a text file, not a video\n" * 20)
    png = folder / "picture.png"
    import ffmpeg

    (ffmpeg.input("testsrc2=size=64x64:rate=1", f="lavfi").output(str(png), vframes=1,
                                                                   loglevel="error").run())
    # Other bytes than any good file's (a copy would be quarantined as its duplicate).
    (ffmpeg.input("testsrc2=size=64x64:rate=25", f="lavfi", t=2)
     .output(str(folder / "uncaptioned.mp4"), pix_fmt="yuv420p", loglevel="error").run())
    captions = {"zero.mp4": "zero", "truncated.mp4": "cut short", "notes.mp4": "text",
                "picture.png": "a picture"}
    for name, caption in captions.items():
        (folder / name).with_suffix(".txt").write_text(caption)


def test_each_bad_file_gets_its_own_reason_and_good_files_survive(tmp_path, moving_fashion_dir,
                                                                  curation_config):
    folder = tmp_path / "mixed"
    shutil.copytree(moving_fashion_dir, folder)
    good = sorted(folder.glob("train/*.mp4"))[0]
    _make_bad_files(folder, good)

    index = index_video_folder(folder, "mixed")
    candidates = cut_clips(index, probe_videos(index), curation_config)
    reasons = dict(zip(candidates.rejects["file"], candidates.rejects["reason"], strict=True))
    assert reasons == {
        "zero.mp4": "empty_file",
        "truncated.mp4": "truncated",
        "notes.mp4": "not_a_video",
        "picture.png": "still_image",
        "uncaptioned.mp4": "no_caption",
    }
    good_files = set(index["file"]) - set(reasons)
    assert set(candidates.clips["source_file"]) == good_files  # every good file came out
    assert len(candidates.clips) == len(candidates.frames) == 2 * len(good_files)
    assert (candidates.rejects["detail"].str.len() > 0).all()


def test_truncated_real_clip_with_index_up_front_is_caught_by_frame_count(tmp_path, real_clips_dir,
                                                                        curation_config):
    data = (real_clips_dir / "bikes.mp4").read_bytes()
    folder = tmp_path / "cut"
    folder.mkdir()
    (folder / "bikes.mp4").write_bytes(data[: len(data) // 3])
    (folder / "bikes.txt").write_text("a street")
    index = index_video_folder(folder, "cut")
    candidates = cut_clips(index, probe_videos(index), curation_config)
    assert list(candidates.rejects["reason"]) == ["truncated"]
    assert len(candidates.clips) == 0


def test_static_windows_are_dropped_and_listed(tmp_path, curation_config):
    from seaweed_apt.data.video_io import encode_video

    folder = tmp_path / "still"
    folder.mkdir()
    frames = np.repeat(np.random.default_rng(0).integers(0, 255, (1, 64, 64, 3), np.uint8), 32, 0)
    encode_video(frames, folder / "frozen.mp4", fps=8)
    (folder / "frozen.txt").write_text("nothing moves")
    index = index_video_folder(folder, "still")
    candidates = cut_clips(index, probe_videos(index), curation_config)
    assert len(candidates.clips) == 0
    assert set(candidates.rejects["reason"]) == {"static"}
    assert set(candidates.rejects["level"]) == {"clip", "file"}


def test_a_caption_of_invisible_characters_is_no_caption(tmp_path, moving_fashion_dir,
                                                         curation_config):
    folder = tmp_path / "invisible"
    folder.mkdir()
    first, second = sorted(moving_fashion_dir.glob("train/*.mp4"))[:2]
    shutil.copyfile(first, folder / "seen.mp4")
    shutil.copyfile(second, folder / "unseen.mp4")
    (folder / "seen.txt").write_text("a bag\u200b  bouncing\n", encoding="utf-8")
    (folder / "unseen.txt").write_text("\u200b\u2060\u200d\n", encoding="utf-8")
    index = index_video_folder(folder, "invisible")
    assert dict(zip(index["file"], index["caption"], strict=True)) == {
        "seen.mp4": "a bag bouncing", "unseen.mp4": ""}
    candidates = cut_clips(index, probe_videos(index), curation_config)
    assert list(candidates.rejects["reason"]) == ["no_caption"]
    assert set(candidates.clips["source_file"]) == {"seen.mp4"}
