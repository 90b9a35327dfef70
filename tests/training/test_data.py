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
