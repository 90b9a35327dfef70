"""Frame timestamps users' files carry (issue 36, cases 5 and 8): what demuxing says about them,
how the decode retimes them, and that the default data's constant-rate files from 0 s need no
retiming and would decode to the same pixels with it."""

import numpy as np
import pytest

from seaweed_apt.data.video_io import (
    decode_video,
    encode_video,
    plan_retiming,
    read_frame_times,
)
from tests.data.timed_videos import (
    gap_video,
    late_video,
    long_last_frame_video,
    steady_video,
    video_stream_only,
)


def test_a_gap_between_frames_is_closed_to_one_frame(tmp_path):
    times = read_frame_times(gap_video(tmp_path / "gap.mp4", before=20, after=24, gap_s=7200))
    assert len(times.pts) == 44 and times.late_start_s == 0
    plan = plan_retiming(times, fps=8, max_hold_s=2.0)
    assert plan.run_starts == (0, 20)
    assert plan.num_frames == pytest.approx(44)
    assert plan.gaps == ((2.375, 7202.5),)  # seconds from the first frame: exact in 1/16384
    frames, _ = decode_video(tmp_path / "gap.mp4", 8, 32, 32, max_hold_s=plan.max_hold_s)
    steady, _ = decode_video(steady_video(tmp_path / "steady.mp4", 44), 8, 32, 32)
    assert np.array_equal(frames, steady)  # the file's 44 frames, not 57,644


def test_a_gap_shorter_than_the_hold_is_kept(tmp_path):
    times = read_frame_times(gap_video(tmp_path / "gap.mp4", before=20, after=24, gap_s=1.5))
    assert plan_retiming(times, fps=8, max_hold_s=2.0) is None
    frames, _ = decode_video(tmp_path / "gap.mp4", 8, 32, 32)
    assert len(frames) == 44 + 12  # 1.5 s of the 20th frame: a pause the file shows


def test_a_last_frame_held_for_hours_is_cut_to_one_frame(tmp_path):
    times = read_frame_times(long_last_frame_video(tmp_path / "held.mp4", frames=16,
                                                   hold_s=7200))
    plan = plan_retiming(times, fps=8, max_hold_s=2.0)
    assert plan.run_starts == (0,) and len(plan.gaps) == 1
    frames, _ = decode_video(tmp_path / "held.mp4", 8, 32, 32, max_hold_s=plan.max_hold_s)
    assert len(frames) == 16  # 57,615 without the retiming
    assert len(np.unique(frames.reshape(16, -1).mean(axis=1).round())) == 16


def test_a_late_video_stream_is_decoded_from_its_first_frame(tmp_path):
    late = late_video(tmp_path / "late.mp4", late_s=2.5, seconds=2.0, audio_s=5.0)
    times = read_frame_times(late)
    assert times.late_start_s == pytest.approx(2.5, abs=0.05)
    plan = plan_retiming(times, fps=8, max_hold_s=2.0)
    assert plan.run_starts == (0,) and plan.gaps == ()
    frames, _ = decode_video(late, 8, 32, 32, max_hold_s=plan.max_hold_s)
    alone, _ = decode_video(video_stream_only(late, tmp_path / "alone.mp4"), 8, 32, 32)
    assert len(alone) == 16 and np.array_equal(frames, alone)


def test_default_data_needs_no_retiming_and_decodes_alike_with_it(tmp_path, real_clips_dir):
    """fetch_raw's lossless constant-rate videos from 0 s, and the real clips as shipped: no
    retiming is planned, so their decode (and dvc.lock's curated outputs) stay as they were;
    forced, the retiming gives the same pixels too."""
    frames = np.random.default_rng(0).integers(0, 255, (24, 40, 40, 3), np.uint8)
    encode_video(frames, tmp_path / "fashion.mp4", fps=8)
    paths = [tmp_path / "fashion.mp4", *sorted(real_clips_dir.glob("*.m*"))]
    assert len(paths) == 9
    for path in paths:
        assert plan_retiming(read_frame_times(path), fps=8, max_hold_s=1.0) is None, path.name
        plain, _ = decode_video(path, 8, 32, 32)
        retimed, _ = decode_video(path, 8, 32, 32, max_hold_s=1.0)
        assert np.array_equal(plain, retimed), path.name


def test_a_file_pyav_cannot_open_plans_nothing(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    assert read_frame_times(tmp_path / "notes.mp4") is None
    assert plan_retiming(None, fps=8, max_hold_s=1.0) is None
