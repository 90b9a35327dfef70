"""Test inputs with the timestamps users' cameras and recorders write: a gap between two frames
(motion-triggered CCTV), a video stream that starts after the audio (screen recorders), a last
frame held for hours. Made with ffmpeg's lavfi sources, H.264 lossless, so that their decoded
frames can be compared pixel for pixel with a constant-rate encode of the same source."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import ffmpeg
import numpy as np

_LOSSLESS = {"vcodec": "libx264", "pix_fmt": "yuv420p", "qp": 0, "loglevel": "error"}


def steady_video(path: Path, frames: int, fps: int = 8) -> Path:
    """`frames` frames of testsrc2 (each frame different) at a constant `fps` from 0 s."""
    (ffmpeg.input(f"testsrc2=size=64x64:rate={fps}", f="lavfi", t=frames / fps)
     .output(str(path), fps_mode="passthrough", **_LOSSLESS).overwrite_output().run())
    return path


def gap_video(path: Path, before: int, after: int, gap_s: float, fps: int = 8) -> Path:
    """`steady_video(before + after)` with `gap_s` seconds between frame `before - 1` and frame
    `before`: the same frames, a variable frame rate (avg_frame_rate of about 0)."""
    (ffmpeg.input(f"testsrc2=size=64x64:rate={fps}", f="lavfi", t=(before + after) / fps)
     .filter("setpts", f"PTS+gte(N,{before})*{gap_s}/TB")
     .output(str(path), fps_mode="passthrough", **_LOSSLESS).overwrite_output().run())
    return path


def late_video(path: Path, late_s: float = 2.5, seconds: float = 2.0,
               audio_s: float = 5.0) -> Path:
    """Audio from 0 s, `seconds` of testsrc2 video at 25 fps from `late_s`."""
    video = (ffmpeg.input("testsrc2=size=64x64:rate=25", f="lavfi", t=seconds)
             .filter("setpts", f"PTS+{late_s}/TB"))
    audio = ffmpeg.input("sine=frequency=440", f="lavfi", t=audio_s)
    (ffmpeg.output(video, audio, str(path), fps_mode="passthrough", **_LOSSLESS)
     .overwrite_output().run())
    return path


def video_stream_only(source: Path, path: Path) -> Path:
    """`source`'s video stream alone, packets copied: the file then starts at its first frame."""
    (ffmpeg.input(str(source)).output(str(path), an=None, c="copy", loglevel="error")
     .overwrite_output().run())
    return path


def long_last_frame_video(path: Path, frames: int = 16, hold_s: float = 7200.0,
                          fps: int = 8) -> Path:
    """`frames` grey levels at `fps`, the last one's duration `hold_s` (a camera that stopped
    writing frames but not its clock)."""
    import av

    rate = Fraction(1, fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"bf": "0", "qp": "0"})
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.time_base = rate

        def mux(packets) -> None:
            for packet in packets:
                if packet.pts == frames - 1:
                    packet.duration = int(hold_s * fps)
                container.mux(packet)

        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 12 * index, np.uint8),
                                               format="rgb24")
            frame.pts, frame.time_base = index, rate
            mux(stream.encode(frame))
        mux(stream.encode())
    return path
