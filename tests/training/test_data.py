"""The training batches: clips, and single frames of them for the image steps of joint training."""

import torch

from seaweed_apt.text.batch import TextBatch
from seaweed_apt.training.data import ClipSet


def _clip_set() -> ClipSet:
    frames = torch.arange(5 * 4, dtype=torch.uint8).view(5, 4, 1, 1, 1).expand(5, 4, 2, 2, 3)
    captions = TextBatch(torch.randn(5, 3, 8), torch.ones(5, 3, dtype=torch.bool),
                         torch.randn(5, 8))
    return ClipSet(frames.contiguous(), torch.arange(5), captions)


def test_frame_batch_takes_one_frame_of_each_clip_with_its_caption():
    clips = _clip_set()
    indices = torch.tensor([0, 3, 3, 4])
    images, text = clips.frame_batch(indices, torch.Generator().manual_seed(0))
    videos, _ = clips.batch(indices)
    assert images.shape == (4, 3, 1, 2, 2)
    for row in range(len(indices)):
        frame_values = {float(v) for v in videos[row, 0, :, 0, 0]}
        assert float(images[row, 0, 0, 0, 0]) in frame_values  # a frame of its own clip
    assert torch.equal(text.pooled, clips.caption_table.pooled[indices])


def test_frame_batch_is_reproducible_per_generator():
    clips = _clip_set()
    indices = torch.arange(5)
    first, _ = clips.frame_batch(indices, torch.Generator().manual_seed(3))
    again, _ = clips.frame_batch(indices, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)


def _curated(tmp_path, with_caption_rows: bool = True):
    """Two train shards (3 + 2 clips, each frame's value its clip's number) and one val shard,
    with caption rows that differ from the clips' order."""
    import numpy as np
    import pandas as pd
    from safetensors.numpy import save_file

    from seaweed_apt.data.curated import CuratedClips

    shards = tmp_path / "clip_shards"
    shards.mkdir()
    layout = {"train-00000": [0, 1, 2], "train-00001": [3, 4], "val-00000": [5]}
    for name, clips in layout.items():
        arrays = {"frames": np.array(clips, np.uint8).reshape(-1, 1, 1, 1, 1)
                  * np.ones((1, 2, 2, 2, 3), np.uint8)}
        if with_caption_rows:
            arrays["caption_row"] = np.array([5 - clip for clip in clips], np.int64)
        save_file(arrays, str(shards / f"{name}.safetensors"))
    save_file({"tokens": np.zeros((6, 3, 4), np.float16), "mask": np.ones((6, 3), np.uint8),
               "pooled": np.arange(6, dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)},
              str(tmp_path / "caption_table.safetensors"))
    manifest = pd.DataFrame({"split": ["train"] * 5 + ["val"],
                             "shard": ["train-00000"] * 3 + ["train-00001"] * 2 + ["val-00000"],
                             "num_frames": 2, "height": 2, "width": 2})
    return CuratedClips(manifest, str(shards), str(tmp_path / "caption_table.safetensors"))


def test_each_worker_reads_its_own_shards_with_the_caption_rows_they_store(tmp_path):
    from seaweed_apt.training.data import load_worker_clips

    clips = _curated(tmp_path)
    assert clips.shard_names() == ["train-00000", "train-00001"] and clips.count() == 5
    shares = [load_worker_clips(clips, rank, 2) for rank in (0, 1)]
    assert [share.frames[:, 0, 0, 0, 0].tolist() for share in shares] == [[0, 1, 2], [3, 4]]
    for share in shares:  # each clip's caption is the row its shard names
        clip = share.frames[:, 0, 0, 0, 0].long()
        assert share.caption_row.tolist() == (5 - clip).tolist()
        _, text = share.batch(torch.arange(len(share)))
        assert text.pooled[:, 0].tolist() == (5 - clip).float().tolist()
    assert load_worker_clips(clips, split="val").frames[:, 0, 0, 0, 0].tolist() == [5]


def test_a_shard_written_without_caption_rows_is_refused_naming_it(tmp_path):
    import pytest

    from seaweed_apt.training.data import load_worker_clips

    with pytest.raises(ValueError, match=r"train-00000\.safetensors has no caption_row: .*"
                                         r"rerun it \(dvc repro data_curation\)"):
        load_worker_clips(_curated(tmp_path, with_caption_rows=False))
