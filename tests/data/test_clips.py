import numpy as np
import pytest

from seaweed_apt.data.clips import motion_score, window_starts


def test_window_starts_cover_only_full_windows():
    assert window_starts(64, 16, 16) == [0, 16, 32, 48]
    assert window_starts(20, 16, 2) == [0, 2, 4]
    assert window_starts(15, 16, 1) == []
    assert window_starts(64, 16, 8, max_clips=2) == [0, 8]
    with pytest.raises(ValueError):
        window_starts(10, 0, 1)


def test_motion_score_is_zero_for_a_frozen_frame_and_grows_with_motion():
    rng = np.random.default_rng(0)
    still = np.repeat(rng.integers(0, 255, (1, 16, 16, 3), dtype=np.uint8), 8, axis=0)
    slow = np.stack([np.roll(still[0], t, axis=1) for t in range(8)])
    fast = np.stack([np.roll(still[0], 3 * t, axis=1) for t in range(8)])
    assert motion_score(still) == 0.0
    assert 0 < motion_score(slow) <= motion_score(fast) <= 1.0


def test_real_clip_windows_have_motion(real_clips_dir):
    from seaweed_apt.data.video_io import decode_video

    frames, _ = decode_video(real_clips_dir / "cockatoo.mp4", fps=8, width=64, height=64)
    scores = [motion_score(frames[s : s + 16]) for s in window_starts(len(frames), 16, 16)]
    assert len(scores) >= 6
    assert min(scores) > 0.004


def test_run_window_starts_keep_each_window_inside_one_run():
    from seaweed_apt.data.clips import run_window_starts

    assert run_window_starts((0,), 64, 16, 16) == window_starts(64, 16, 16)
    assert run_window_starts((0,), 64, 16, 8, max_clips=2) == [0, 8]
    assert run_window_starts((0, 20), 44, 16, 16) == [0, 20]  # 16 would span the gap
    assert run_window_starts((0, 5, 30), 40, 8, 8) == [5, 13, 21, 30]
    assert run_window_starts((0, 20, 50), 44, 16, 16) == [0, 20]  # a run past the decode's end
