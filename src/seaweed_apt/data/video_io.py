"""Video in and out through FFmpeg: probe and decode to uint8 frames with the ffmpeg CLI
(ffmpeg-python), encode mp4/gif in-process with FFmpeg's libraries (PyAV)."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg
import numpy as np

# Bit-exact scaling and colour conversion: swscale's SIMD paths round differently from its C path
# (1 of 21 default-data files decoded to other pixels with `-cpuflags 0`), so without these flags
# two CPUs of one machine kind could curate different clips from the same file.
SWS_FLAGS = "bicubic+accurate_rnd+bitexact+full_chroma_int"
# Demuxers ffmpeg opens a single picture with: a file like this is a still image, not a video.
_IMAGE_FORMATS = {"png_pipe", "jpeg_pipe", "bmp_pipe", "tiff_pipe", "webp_pipe", "image2"}


class VideoError(Exception):
    """A file that cannot be used as a video. `reason` is a short machine-readable key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VideoProbe:
    codec: str
    container: str
    width: int
    height: int
    fps: float
    duration_s: float
    num_frames: int  # the stream's frame count, or its packets counted where it has none

    def as_dict(self) -> dict:
        return asdict(self)


# ffmpeg's and ffprobe's version banner (printed above any error at their default log level):
# "ffprobe version ...", "  built with gcc ...", "  configuration: ...", "  libavutil 58. ...".
_BANNER_LINE = re.compile(r"^(ff\w+ version |\s+built with |\s+configuration: |\s+lib\w+\s+\d)")


def _ffmpeg_message(error: ffmpeg.Error, max_lines: int = 3) -> str:
    """ffmpeg's last few error lines, without its version banner (which a short error left
    inside them): the cause often sits above the final summary line."""
    lines = [line for line in (error.stderr or b"").decode("utf-8", "replace").splitlines()
             if line.strip() and not _BANNER_LINE.match(line)]
    return " | ".join(lines[-max_lines:]) if lines else "ffmpeg gave no message"


def probe_video(path: str | os.PathLike) -> VideoProbe:
    """Read a file's first video stream. Raises VideoError with a reason a person can act on."""
    path = Path(path)
    if not path.exists():
        raise VideoError("missing_file", f"{path} does not exist")
    if path.stat().st_size == 0:
        raise VideoError("empty_file", f"{path} has zero bytes")
    try:
        info = ffmpeg.probe(str(path), v="error")  # errors only: no banner, no chatter
    except ffmpeg.Error as error:
        message = _ffmpeg_message(error)
        truncation = "moov atom not found" in message or "partial file" in message
        if truncation and _starts_like_a_video(path):
            raise VideoError("truncated", message) from None
        raise VideoError("not_a_video", message) from None
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        raise VideoError("no_video_stream", f"{path.name} has no video stream")
    stream = streams[0]
    container = info.get("format", {}).get("format_name", "")
    codec = stream.get("codec_name", "unknown")
    fps = _stream_fps(stream)
    frames = int(stream["nb_frames"]) if str(stream.get("nb_frames", "")).isdigit() else 0
    if frames == 0:
        frames = _count_packets(path)
    duration = _video_duration(stream, frames, fps)
    if duration is None:  # nothing in the video stream says how long it is
        duration = float(info.get("format", {}).get("duration") or 0.0)
    if fps > 0 and frames > 1 and duration < 0.5 * frames / fps:
        duration = frames / fps  # broken timestamps (seen in MPEG program streams): trust the count
    # A still is one frame, whatever its codec: PNG-, JPEG- or WebP-coded frames in a MOV or MKV
    # are a video (the usual export with transparency), a PNG file is one picture.
    if container in _IMAGE_FORMATS or frames == 1 or (frames == 0 and duration <= 0.0):
        raise VideoError("still_image", f"{path.name} holds a single {codec} frame, not a video")
    return VideoProbe(
        codec=codec,
        container=container,
        width=int(stream.get("width", 0)),
        height=int(stream.get("height", 0)),
        fps=fps,
        duration_s=duration,
        num_frames=frames,
    )


def _video_duration(stream: dict, frames: int, fps: float) -> float | None:
    """Seconds of the video stream itself, or None where the stream says nothing.

    A container's duration is its longest stream's: an MKV with 2 s of video and 10 s of audio
    says 10 s, and the video's 50 frames then read as a file cut short. Matroska keeps each
    stream's length in a `DURATION` tag ("00:00:02.023000000"), not in `duration`."""
    if float(stream.get("duration") or 0.0) > 0.0:
        return float(stream["duration"])
    tags = {key.lower(): value for key, value in (stream.get("tags") or {}).items()}
    hours, _, rest = str(tags.get("duration", "")).partition(":")
    minutes, _, seconds = rest.partition(":")
    try:
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        pass
    return frames / fps if frames > 0 and fps > 0 else None


def _count_packets(path: Path) -> int:
    """Frames of the first video stream by demuxing (no decoding), for containers without a
    count."""
    try:
        info = ffmpeg.probe(str(path), count_packets=None, select_streams="v:0")
    except ffmpeg.Error:
        return 0
    streams = info.get("streams") or [{}]
    return int(streams[0].get("nb_read_packets") or 0)


# Leading bytes of the containers we expect: MP4/MOV boxes, MPEG program stream, Matroska, RIFF.
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"}
_MAGIC = (b"\x00\x00\x01\xba", b"\x1a\x45\xdf\xa3", b"RIFF")


def _starts_like_a_video(path: Path) -> bool:
    """A file cut short still starts like a video; a text file renamed .mp4 does not."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return head[4:8] in _MP4_BOXES or head.startswith(_MAGIC)


def _stream_fps(stream: dict) -> float:
    for key in ("avg_frame_rate", "r_frame_rate"):
        rate = stream.get(key, "0/0")
        num, _, den = rate.partition("/")
        if den and int(den) != 0 and int(num) != 0:
            return float(Fraction(int(num), int(den)))
    return 0.0


@dataclass(frozen=True)
class FrameTimes:
    """When the first video stream's frames are shown, read by demuxing it (no decoding)."""

    pts: np.ndarray  # (N,) int64 presentation timestamps in `time_base` units, ascending
    time_base: Fraction
    last_duration: int  # how long the last frame is shown, in `time_base` units (0: not said)
    late_start_s: float  # from the file's start (its earliest stream) to this stream's first frame


def read_frame_times(path: str | os.PathLike) -> FrameTimes | None:
    """The first video stream's frame timestamps, by demuxing its packets with PyAV in this
    process (no decoding: work in proportion to the packets); those of a damaged tail are the
    ones read before it. None where PyAV opens no video stream in the file."""
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None
    with container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        times: dict[int, int] = {}  # pts -> duration
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and not packet.is_discard:
                    times[packet.pts] = packet.duration or 0
        except av.FFmpegError:
            pass
        file_start = (container.start_time or 0) / 1_000_000  # AV_TIME_BASE units
        time_base = stream.time_base
    if not times:
        return None
    pts = np.array(sorted(times), dtype=np.int64)
    return FrameTimes(pts=pts, time_base=Fraction(time_base),
                      last_duration=int(times[int(pts[-1])]),
                      late_start_s=max(0.0, float(pts[0] * time_base) - file_start))


@dataclass(frozen=True)
class Retiming:
    """What `decode_video(..., max_hold_s=...)` gives for a file: its frames from the video's own
    first frame, each hold longer than `max_hold_s` (a gap between two frames, a last frame shown
    for hours) cut to one output frame. The decode then holds `num_frames` frames at most
    `max_hold_s * fps + 1` per frame of the file, in runs without a gap starting at
    `run_starts`."""

    max_hold_s: float
    run_starts: tuple[int, ...]  # output frame each run starts at; 0 first
    num_frames: float  # frames the decode gives, within one
    gaps: tuple[tuple[float, float], ...]  # each closed hold: (its frame's time, the next
    # frame's or the stream's end), seconds from the video's first frame
    late_start_s: float


def plan_retiming(times: FrameTimes | None, fps: float, max_hold_s: float) -> Retiming | None:
    """How the decode must retime a file (see `Retiming`), or None where it needs none: the
    video starts with the file and never holds a frame longer than `max_hold_s`, which is every
    constant-rate file from 0 s (the default data). Follows the arithmetic of
    `_RETIME_EXPRESSION` in ffmpeg's `setpts` and `fps` filters, in the stream's units."""
    if times is None:
        return None
    hold = Fraction(max_hold_s) / times.time_base  # in time_base units
    steps = np.diff(times.pts)
    # A start later than half an output frame is where ffmpeg leads with copies of the first.
    late = times.late_start_s * fps >= 0.5
    if not late and not (steps > hold).any() and times.last_duration <= hold:
        return None
    ticks_per_unit = times.time_base * Fraction(fps)

    def after_tick(out: int) -> tuple[int, int]:
        """The output frame after the one showing a frame at `out`, and its `out` time."""
        tick = _round_half_away(out * ticks_per_unit) + 1
        return tick, int(tick / ticks_per_unit)

    out, starts, gaps = 0, [0], []
    for index, step in enumerate(steps.tolist()):
        before = float((times.pts[index] - times.pts[0]) * times.time_base)
        if step > hold:
            tick, out = after_tick(out)
            starts.append(tick)
            gaps.append((before, before + float(step * times.time_base)))
        else:
            out += step
    if times.last_duration > hold:
        last = float((times.pts[-1] - times.pts[0]) * times.time_base)
        gaps.append((last, last + float(times.last_duration * times.time_base)))
        end_tick, _ = after_tick(out)
    else:
        end_tick = float((out + times.last_duration) * ticks_per_unit)
    return Retiming(max_hold_s=max_hold_s, run_starts=tuple(starts), num_frames=float(end_tick),
                    gaps=tuple(gaps), late_start_s=times.late_start_s)


def _round_half_away(value: Fraction) -> int:
    """C's round() (and ffmpeg's AV_ROUND_NEAR_INF): halves away from zero."""
    whole = int(abs(value) + Fraction(1, 2))
    return whole if value >= 0 else -whole


# setpts: the first frame at 0; a frame more than HOLD seconds after the one before goes to the
# output frame after that one's (fps filter's tick, rounded as it rounds); any other frame keeps
# its distance to the one before. ffmpeg evaluates it at the end of the stream too, so a last
# frame held for hours is cut the same way (without it the fps filter fills up to the end).
_RETIME_EXPRESSION = (
    "if(eq(N,0),0,if(gt(PTS-PREV_INPTS,{hold}/TB),"
    "(round(PREV_OUTPTS*TB*{fps})+1)/({fps}*TB),PREV_OUTPTS+PTS-PREV_INPTS))"
)


def decode_video(
    path: str | os.PathLike, fps: float, width: int, height: int, cpuflags: str | None = None,
    max_hold_s: float | None = None,
) -> tuple[np.ndarray, str]:
    """Decode to `fps`, scale to cover `width x height` and centre-crop, bit-exactly (the same
    pixels on any x86 CPU). `cpuflags` restricts ffmpeg's CPU features ("0": C code only), for
    checking exactly that. With `max_hold_s`, the frames are retimed first (`plan_retiming`
    says when that is needed): from the video's own first frame, where a video stream starting
    after the file's audio was led by copies of its first frame, and with each hold longer than
    `max_hold_s` cut to one frame, where a gap of hours between two frames was filled with
    copies (fps x seconds of them, whatever the file's size).

    Returns:
        frames (N, H, W, 3) uint8 and ffmpeg's warnings (empty when the decode was clean).
    """
    stream = ffmpeg.input(str(path))
    if max_hold_s is not None:
        stream = stream.filter("setpts", _RETIME_EXPRESSION.format(hold=float(max_hold_s),
                                                                  fps=float(fps)))
    stream = (
        stream
        .filter("fps", fps=fps)
        .filter("scale", width, height, force_original_aspect_ratio="increase",
                flags=SWS_FLAGS)
        .filter("crop", width, height)
    )
    cpu = ["-cpuflags", cpuflags] if cpuflags is not None else []
    try:
        raw, stderr = (
            stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", loglevel="error",
                          sws_flags=SWS_FLAGS)
            .global_args("-nostdin", *cpu)
            .run(capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as error:
        message = _ffmpeg_message(error)
        reason = "unsupported_codec" if "Decoder" in message or "codec" in message \
            else "decode_failed"
        raise VideoError(reason, message) from None
    frame_bytes = width * height * 3
    count = len(raw) // frame_bytes
    frames = np.frombuffer(raw[: count * frame_bytes], dtype=np.uint8)
    return frames.reshape(count, height, width, 3), stderr.decode("utf-8", "replace").strip()


def encode_video(
    frames: np.ndarray, path: str | os.PathLike, fps: float, cpu: str | None = None
) -> None:
    """Write (N, H, W, 3) uint8 frames as a lossless H.264 mp4 (yuv420p in the High 4:4:4
    Predictive profile: FFmpeg decodes it, some hardware and browser decoders do not).

    The bytes depend on the frames alone: one x264 thread (its default, one per 1.5 cores, gave
    other bytes at 4 and 16 threads), bit-exact colour conversion, no version strings, lossless
    coding. `cpu` restricts x264's instruction sets (its `asm` option: "AVX2", "SSSE3", "0" for
    C only; one this CPU lacks crashes x264), for checking exactly that."""
    count, height, width, _ = frames.shape  # (N, H, W, 3)
    if width % 2 or height % 2:
        raise ValueError(f"H.264 in yuv420p needs even sizes, got {width}x{height}")
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    x264 = {"x264-params": f"asm={cpu}"} if cpu is not None else {}
    # Lossless (crf 0) because lossy bytes depended on the CPU: at crf 18, with x264's `asm`
    # restricted, 16 of 100 default videos had other bytes (13 other decoded pixels) under AVX2
    # than under AVX-512, from its macroblock-tree rate control (mbtree=0 made them agree), and
    # 98 (96) under C only. Lossless gave equal bytes under AVX-512, AVX2, SSSE3 and C, for 11%
    # more bytes (issue 35).
    (
        ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", r=fps)
        .output(str(partial), vcodec="libx264", pix_fmt="yuv420p", crf=0, preset="veryfast",
                r=fps, loglevel="error", threads=1, sws_flags=SWS_FLAGS, flags="+bitexact",
                fflags="+bitexact", **x264)
        .global_args("-nostdin")
        .overwrite_output()
        .run(input=np.ascontiguousarray(frames).tobytes(), capture_stdout=True,
             capture_stderr=True)
    )
    os.replace(partial, path)  # a killed run never leaves a half-written video under the real name


def encode_video_bytes(frames: np.ndarray, fps: float, fmt: str = "mp4",
                       preset: str = "medium") -> bytes:
    """(N, H, W, 3) uint8 frames -> an mp4 (H.264, yuv420p, fragmented so it streams from its
    first byte; H and W even; x264's `preset`, its speed against file size) or a GIF, in memory.

    Encoded in this process by FFmpeg's libraries through PyAV rather than by an ffmpeg process
    per call: the endpoint encodes every answer, and a process start per response capped its
    throughput under batching (issue 22; docs/benchmarks.md, "mp4 answers under batching").
    Raises ValueError on another `fmt`."""
    import io

    import av

    if fmt not in ("mp4", "gif"):
        raise ValueError(f"unknown video format {fmt!r}: use 'mp4' or 'gif'")
    _, height, width, _ = frames.shape
    buffer = io.BytesIO()
    rate = Fraction(fps).limit_denominator(1001)
    options = {"movflags": "frag_keyframe+empty_moov"} if fmt == "mp4" else {}
    with av.open(buffer, mode="w", format=fmt, options=options) as container:
        # One x264 thread and no lookahead: a short clip encoded per request, several requests
        # at once on as many cores; x264's own threads cost more than they gave here (8 frames at
        # 256x256, ultrafast: 16.8 ms with threads, 14.5 ms with one and zerolatency).
        x264 = {"preset": preset, "tune": "zerolatency", "threads": "1"}
        stream = (container.add_stream("libx264", rate=rate, options=x264)
                  if fmt == "mp4" else container.add_stream("gif", rate=rate))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p" if fmt == "mp4" else "rgb8"
        for image in np.ascontiguousarray(frames, dtype=np.uint8):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())  # flush the encoder's delayed frames
    return buffer.getvalue()


def video_grid(videos: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """(B, T, H, W, 3) -> (T, rows*(H+gap), columns*(W+gap), 3): videos tiled row-major."""
    count, frames, height, width, channels = videos.shape
    rows = -(-count // columns)
    grid = np.full((frames, rows * (height + gap), columns * (width + gap), channels), 255,
                   np.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        grid[:, top : top + height, left : left + width] = videos[index]
    return grid
