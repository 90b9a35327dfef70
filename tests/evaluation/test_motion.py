"""The motion readers on real curated clips (their ceiling) and on clips broken in the ways a
generator breaks them: frozen, shuffled in time, a jump where two temporal patches meet."""

import numpy as np
import pytest

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.evaluation.data import load_split_clips
from seaweed_apt.evaluation.motion import NO_AXIS, jump_ratios, read_motion
from seaweed_apt.evaluation.quality import motion_axis_accuracy
from tests.helpers import base_config, curated_clips


def _read(videos, patch=4):
    motion = base_config(EvaluationConfig, "evaluation").motion
    return read_motion(videos, motion.item_threshold, motion.min_speed_px, patch)


def _real_clips(curated_root):
    return load_split_clips(curated_clips(curated_root), "test")


def test_real_held_out_clips_move_along_their_captioned_axis_and_frozen_ones_do_not(curated_root):
    clips = _real_clips(curated_root)
    real = _read(clips.frames)
    assert motion_axis_accuracy(real.axis, clips.axes) == 1.0  # the ceiling
    assert (real.speed > 0.5).all()  # px / frame; the default data move 1.2-2.4
    frozen = _read(np.repeat(clips.frames[:, :1], clips.frames.shape[1], axis=1))
    assert (frozen.axis == NO_AXIS).all() and (frozen.speed == 0).all()
    assert motion_axis_accuracy(frozen.axis, clips.axes) == 0.0  # the floor
    assert (frozen.jump == 1.0).all()  # no jump: the speed is what flags a frozen clip


def test_shuffled_frames_and_a_jump_at_the_patch_boundary_score_worse_than_real(curated_root):
    clips = _real_clips(curated_root)
    real = _read(clips.frames)
    rng = np.random.default_rng(0)
    shuffled = _read(np.stack([video[rng.permutation(len(video))] for video in clips.frames]))
    assert shuffled.jump.mean() > 1.2 * real.jump.mean()
    assert shuffled.speed.mean() > 1.5 * real.speed.mean()  # shuffled paths zig-zag
    # The item leaps at frame 4 (where 4-frame temporal patches meet): the second half of the
    # clip shifted by 6 px.
    leaping = clips.frames.copy()
    leaping[:, 4:] = np.roll(leaping[:, 4:], 6, axis=3)
    leap = _read(leaping)
    assert np.nanmean(leap.boundary_jump) > 1.5 * np.nanmean(real.boundary_jump)
    assert leap.jump.mean() > real.jump.mean()


def test_jump_ratios_of_even_and_uneven_change():
    even = np.full((1, 7), 0.1)
    assert jump_ratios(even, 4)[0][0] == pytest.approx(1.0)
    assert jump_ratios(even, 4)[1][0] == pytest.approx(1.0)
    jump = even.copy()
    jump[0, 3] = 0.4  # frame 3 -> 4, the boundary of two 4-frame patches
    anywhere, boundary = jump_ratios(jump, 4)
    assert anywhere[0] > 3.5 and boundary[0] > 3.5
    jump_elsewhere = even.copy()
    jump_elsewhere[0, 1] = 0.4
    assert jump_ratios(jump_elsewhere, 4)[1][0] < 1.0  # not at the boundary
