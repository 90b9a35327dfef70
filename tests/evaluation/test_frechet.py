import pytest
import torch
import torch.nn.functional as F

from seaweed_apt.evaluation.features import EffLite0Features, clip_features, video_frame_features
from seaweed_apt.evaluation.frechet import frechet_distance


@pytest.fixture(scope="module")
def extractor():
    return EffLite0Features(image_size=64)


def _frames(count: int, seed: int = 0) -> torch.Tensor:
    """Grey rectangles of random size and place on a black ground, like our garments."""
    rng = torch.Generator().manual_seed(seed)
    frames = -torch.ones(count, 3, 32, 32)
    for i in range(count):
        h, w = torch.randint(6, 20, (2,), generator=rng).tolist()
        y, x = torch.randint(0, 32 - h, (1,), generator=rng).item(), \
            torch.randint(0, 32 - w, (1,), generator=rng).item()
        frames[i, :, y:y + h, x:x + w] = torch.rand(1, generator=rng).item() * 1.5 - 0.5
    return frames


def _blur(frames: torch.Tensor, size: int) -> torch.Tensor:
    return F.avg_pool2d(frames, size, stride=1, padding=size // 2, count_include_pad=False)


def test_distance_of_a_set_to_itself_is_zero_and_grows_with_blur_and_noise(extractor):
    real = extractor(_frames(48))
    assert abs(frechet_distance(real, real)) < 1e-3
    other = _frames(48, seed=5)  # a second sample of the same distribution: the floor
    floor = frechet_distance(real, extractor(other))
    blurred = [frechet_distance(real, extractor(_blur(other, k))) for k in (3, 7)]
    noisy = frechet_distance(real, extractor(other + 0.1 * torch.randn(
        other.shape, generator=torch.Generator().manual_seed(1))))
    assert 0 < floor < blurred[0] < blurred[1]
    assert noisy > 2 * floor  # (the features saturate: more noise is not always farther)


def test_clip_features_tell_a_frozen_clip_from_a_moving_one(extractor):
    frames = _frames(8)
    moving = frames.permute(1, 0, 2, 3)[None]  # (1, 3, 8, 32, 32): a new frame every step
    frozen = frames[:1].permute(1, 0, 2, 3)[None].expand(-1, -1, 8, -1, -1)
    moving_change = clip_features(video_frame_features(extractor, moving))[0, 1280:]
    frozen_change = clip_features(video_frame_features(extractor, frozen))[0, 1280:]
    assert frozen_change.abs().max() == 0 and moving_change.abs().mean() > 0


def test_mismatched_or_too_small_feature_sets_are_refused():
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(torch.randn(4, 8), torch.randn(4, 9))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(torch.randn(1, 8), torch.randn(4, 8))


def test_features_are_the_same_in_either_memory_layout(extractor):
    """Channels-last (the default, for speed) moves features by rounding only: far below the
    FD's half-set noise."""
    contiguous = EffLite0Features(image_size=64, memory_format=torch.contiguous_format)
    frames = _frames(16)
    fast, plain = extractor(frames), contiguous(frames)
    assert (fast - plain).abs().max() <= 1e-4 * plain.abs().max()
