from pathlib import Path

import numpy as np
import pytest

from seaweed_apt.data.video_io import (
    VideoError,
    decode_video,
    encode_video,
    encode_video_bytes,
    probe_video,
)
from seaweed_apt.storage import sha256 as sha256_of_file

# What ffprobe reports for the shipped files: several containers, codecs, rates and sizes.
EXPECTED = {
    "bigbuckbunny.mp4": ("h264", 1280, 720, 25.0),
    "cityCC0.mpg": ("mpeg2video", 720, 405, 25.0),
    "anim-1.mov": ("mjpeg", 256, 256, 30.0),
    "alea.mpg": ("mpeg1video", 320, 240, 30.0),
    "carphone_pristine.mp4": ("h264", 176, 144, 30000 / 1001),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_probe_reads_codec_size_and_rate_of_real_clips(real_clips_dir, name):
    probe = probe_video(real_clips_dir / name)
    codec, width, height, fps = EXPECTED[name]
    assert (probe.codec, probe.width, probe.height) == (codec, width, height)
    assert probe.fps == pytest.approx(fps, rel=1e-3)
    assert probe.num_frames > 1


def test_decode_resamples_fps_and_crops_to_size(real_clips_dir):
    # bikes.mp4: 10 s at 25 fps, 640x272 -> 5 fps, 48x32 after cover-scale and centre crop.
    frames, warnings = decode_video(real_clips_dir / "bikes.mp4", fps=5, width=48, height=32)
    assert frames.dtype == np.uint8
    assert frames.shape[1:] == (32, 48, 3)
    assert abs(len(frames) - 50) <= 1
    assert frames.std() > 10  # real content, not a blank frame
    assert warnings == ""


def test_decode_of_another_rate_gives_proportionally_more_frames(real_clips_dir):
    low, _ = decode_video(real_clips_dir / "cockatoo.mp4", fps=4, width=32, height=32)
    high, _ = decode_video(real_clips_dir / "cockatoo.mp4", fps=8, width=32, height=32)
    assert len(high) == pytest.approx(2 * len(low), abs=2)


def test_encode_then_decode_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.zeros((12, 32, 32, 3), np.uint8)
    for t in range(12):
        frames[t, 8:24, t : t + 8] = 200  # a bar moving right
    frames += rng.integers(0, 5, frames.shape, dtype=np.uint8)
    path = tmp_path / "bar.mp4"
    encode_video(frames, path, fps=8)
    decoded, _ = decode_video(path, fps=8, width=32, height=32)
    assert decoded.shape == frames.shape
    assert np.abs(decoded.astype(int) - frames.astype(int)).mean() < 6
    assert len(sha256_of_file(path)) == 64
    assert not list(tmp_path.glob(".*partial*"))


def test_encode_to_bytes_gives_playable_mp4_and_gif(tmp_path):
    frames = np.full((4, 16, 16, 3), 128, np.uint8)
    mp4 = encode_video_bytes(frames, fps=8, fmt="mp4")
    gif = encode_video_bytes(frames, fps=8, fmt="gif")
    assert gif[:6] in (b"GIF89a", b"GIF87a")
    (tmp_path / "x.mp4").write_bytes(mp4)
    assert probe_video(tmp_path / "x.mp4").codec == "h264"
    with pytest.raises(ValueError, match="unknown video format"):
        encode_video_bytes(frames, fps=8, fmt="avi")


def test_probe_names_the_problem(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError) as error:
        probe_video(empty)
    assert error.value.reason == "empty_file"


def test_a_probe_error_is_the_error_lines_not_ffmpegs_banner(tmp_path):
    # The first 40 bytes of a real mp4: ffprobe's one error line used to come after its
    # version banner, and the detail's last three lines began with "libpostproc 56. ...".
    frames = np.full((8, 16, 16, 3), 100, np.uint8)
    whole = tmp_path / "whole.mp4"
    encode_video(frames, whole, fps=8)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:40])
    with pytest.raises(VideoError) as error:
        probe_video(cut)
    detail = error.value.detail
    assert "moov atom not found" in detail and "Invalid data found" in detail
    for banner in ("version", "configuration", "libav", "libpostproc", "libsw"):
        assert banner not in detail, detail


def test_decoding_gives_the_same_pixels_with_and_without_simd(real_clips_dir, tmp_path):
    # swscale's SIMD and C paths round differently unless told to be bit-exact: CPUs of one
    # machine kind (AVX2 or AVX-512) must curate the same clips from the same file.
    for name in ("cockatoo.mp4", "bikes.mp4"):
        simd, _ = decode_video(real_clips_dir / name, fps=8, width=32, height=32)
        plain, _ = decode_video(real_clips_dir / name, fps=8, width=32, height=32, cpuflags="0")
        assert np.array_equal(simd, plain), name


def test_encoded_bytes_depend_on_the_frames_alone(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (16, 32, 32, 3), np.uint8)
    encode_video(frames, tmp_path / "a.mp4", fps=8)
    encode_video(frames, tmp_path / "b.mp4", fps=8)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert b"Lavf" not in (tmp_path / "a.mp4").read_bytes()  # no muxer version string


def _gliding_disc(frames: int = 32, size: int = 40, disc: int = 20) -> np.ndarray:
    """(T, H, W, 3) uint8: a shaded disc gliding diagonally on black, reflecting off the walls."""
    yy, xx = np.mgrid[:disc, :disc] / (disc - 1)
    shade = np.clip(1.2 - 2 * np.hypot(xx - 0.5, yy - 0.5), 0, 1) * (0.6 + 0.4 * np.sin(9 * xx))
    travel = size - disc
    video = np.zeros((frames, size, size, 3), np.uint8)
    for t in range(frames):
        position = (np.array([3.0, 11.0]) + t * np.array([1.6, 0.8])) % (2 * travel)
        x, y = np.rint(travel - np.abs(travel - position)).astype(int)
        video[t, y : y + disc, x : x + disc] = (255 * shade)[..., None].astype(np.uint8)
    return video


def test_encoded_bytes_and_pixels_do_not_depend_on_the_cpu(tmp_path):
    # x264 picks its code by the CPU's instruction sets: at crf 18 its rate control rounded
    # otherwise under AVX-512 than under AVX2, and its C code chose otherwise than its SIMD, so
    # two machines of one kind wrote other raw videos (issue 35). This clip differed both ways.
    cpuinfo = Path("/proc/cpuinfo")
    flags = set(cpuinfo.read_text().split()) if cpuinfo.exists() else set()
    levels = [None, *(["AVX2"] if {"avx2", "fma", "bmi1", "bmi2"} <= flags else []), "0"]
    frames = _gliding_disc()
    encoded, decoded = {}, {}
    for cpu in levels:  # this CPU's own code, AVX2 where it has it, C only
        path = tmp_path / f"asm-{cpu}.mp4"
        encode_video(frames, path, fps=8, cpu=cpu)
        encoded[cpu] = path.read_bytes()
        decoded[cpu], _ = decode_video(path, fps=8, width=40, height=40)
    for cpu in levels[1:]:
        assert encoded[cpu] == encoded[None], f"other bytes with x264 asm={cpu}"
        assert np.array_equal(decoded[cpu], decoded[None]), f"other pixels with x264 asm={cpu}"
