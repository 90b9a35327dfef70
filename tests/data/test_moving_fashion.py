import json

import numpy as np
import pandas as pd

from seaweed_apt.config.fetch import MovingFashionConfig
from seaweed_apt.data.moving_fashion import (
    ITEM_SIZE,
    bounce_trajectory,
    caption_for,
    render_video,
    sample_items,
)
from seaweed_apt.data.video_io import probe_video
from tests.helpers import base_config


def test_trajectory_stays_inside_and_reflects_off_walls():
    path = bounce_trajectory(np.array([30.0, 5.0]), np.array([3.0, 0.0]), 40, limit=36)
    assert path.min() >= 0 and path.max() <= 36
    steps = np.diff(path[:, 0])
    assert (steps > 0).any() and (steps < 0).any()  # went right, hit the wall, came back
    assert np.allclose(path[:, 1], 5.0)  # a horizontal mover never drifts vertically


def test_caption_names_every_item_and_its_motion():
    config = base_config(MovingFashionConfig, "fetch.moving_fashion", max_items=2)
    labels = np.arange(10).repeat(10)
    rng = np.random.default_rng(3)
    for _ in range(20):
        items = sample_items(rng, labels, config)
        caption = caption_for(items)
        assert caption.count("bouncing") == len(items)
        for item in items:
            phrase = {"horizontal": "left and right", "vertical": "up and down",
                      "diagonal": "diagonally"}[item.axis]
            assert phrase in caption


def test_render_pastes_the_item_where_the_trajectory_says():
    config = base_config(MovingFashionConfig, "fetch.moving_fashion", frames_per_video=8)
    images = np.zeros((1, 28, 28), np.uint8)
    images[0, 10:18, 10:18] = 255
    items = sample_items(np.random.default_rng(0), np.array([7]), config)
    frames = render_video(items[:1], images, config.frame_size)
    size = config.frame_size
    assert frames.shape == (8, size, size, 3)
    x, y = np.rint(items[0].trajectory[5]).astype(int)
    assert frames[5, y + 10 : y + 18, x + 10 : x + 18].min() == 255
    assert frames[5].sum() == 64 * 255 * 3
    assert ITEM_SIZE == 28


def test_composed_set_is_real_mp4_with_disjoint_image_splits(moving_fashion_dir):
    table = pd.read_csv(moving_fashion_dir / "captions.csv", keep_default_na=False)
    assert set(table["split_hint"]) == {"train", "test"}
    for row in table.itertuples():
        meta = json.loads(row.metadata)
        assert meta["image_split"] == row.split_hint  # train images only in train videos
        assert len(meta["trajectories"]) == len(meta["classes"]) >= 1
    probe = probe_video(moving_fashion_dir / table["file"][0])
    size = base_config(MovingFashionConfig, "fetch.moving_fashion").frame_size
    assert (probe.codec, probe.width, probe.height, probe.num_frames) == ("h264", size, size, 32)


def test_composition_is_seeded(tmp_path):
    from seaweed_apt.data.moving_fashion import compose_moving_fashion

    config = base_config(MovingFashionConfig, "fetch.moving_fashion", train_videos=2,
                         test_videos=1, frames_per_video=4)
    compose_moving_fashion(tmp_path / "a", config)
    compose_moving_fashion(tmp_path / "b", config)
    a = (tmp_path / "a" / "captions.csv").read_text()
    assert a == (tmp_path / "b" / "captions.csv").read_text()
    other = compose_moving_fashion(tmp_path / "c", config.model_copy(update={"seed": 1}))
    assert other == 3
    assert a != (tmp_path / "c" / "captions.csv").read_text()


def test_held_out_compositions_only_in_held_out_test_videos():
    from seaweed_apt.data.fashion_mnist import CLASS_NAMES

    config = base_config(MovingFashionConfig, "fetch.moving_fashion", max_items=2)
    held = {(CLASS_NAMES.index(item), axis) for item, axis in config.held_out_compositions}
    labels = np.arange(10).repeat(10)
    rng = np.random.default_rng(5)
    seen = [(i.label, i.axis) for _ in range(300) for i in sample_items(rng, labels, config)]
    assert not set(seen) & held and {label for label, _ in seen} == set(range(10))
    assert {axis for _, axis in seen} == {"horizontal", "vertical", "diagonal"}
    unseen = [(i.label, i.axis) for _ in range(100)
              for i in sample_items(rng, labels, config, held_out=True)]
    assert set(unseen) == held


def test_holding_out_every_motion_of_a_class_is_refused():
    import pytest
    from pydantic import ValidationError

    every = [["bag", "horizontal"], ["bag", "vertical"], ["bag", "diagonal"]]
    with pytest.raises(ValidationError, match="every motion of 'bag'"):
        base_config(MovingFashionConfig, "fetch.moving_fashion", held_out_compositions=every)
    with pytest.raises(ValidationError, match="not an item class"):
        base_config(MovingFashionConfig, "fetch.moving_fashion",
                    held_out_compositions=[["cockatoo", "vertical"]])
