"""`POST /generate` bodies checked before any work: each bad input is a 4xx naming the fix."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seaweed_apt.config.deployment import ServeConfig
from seaweed_apt.text.normalize import NotText, clean_text

FORMATS = {"mp4": "video/mp4", "gif": "image/gif", "npy": "application/octet-stream"}
MAX_SEED = 2**31 - 1


class BadRequest(Exception):
    """A request refused with `status` (4xx, or 503 when a bound of the replica is full)."""

    def __init__(self, status: int, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after_s = status, message, retry_after_s


class GenerateBody(BaseModel):
    """The JSON body of `POST /generate` (its OpenAPI schema). Strict: `"7"`, `1.5` and `true`
    are not integers, `5` is not a prompt. Bounds that come from `deployment.serve` (prompt
    length, videos per request, display size) are checked by `parse_generate_request`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str = Field(description="what the video shows; invisible characters and runs of "
                                    "whitespace are dropped",
                        examples=["a bag bouncing up and down"])
    seed: int | None = Field(None, ge=0, le=MAX_SEED,
                             description="the first video's seed (each further video: +1); "
                                         "omitted: drawn at random. Same seed, same video")
    num_videos: int = Field(1, ge=1, description="videos side by side (mp4/gif) or stacked "
                                                 "(npy); at most deployment.serve.max_num_videos")
    format: Literal["mp4", "gif", "npy"] = Field(
        "mp4", description="mp4 (H.264) or gif at `display_size`; npy: the (N, T, H, W, 3) "
                           "uint8 frames as the model made them")
    display_size: int | None = Field(
        None, ge=1, description="mp4/gif height in pixels: the frames upscaled by the whole "
                                "factor that comes closest without smoothing; omitted: "
                                "deployment.serve.display_size. Not for npy")


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    seeds: list[int]  # one per video: seed, seed + 1, ...
    format: str
    scale: int = 1  # whole-pixel upscaling of mp4/gif frames (1 for npy)

    @property
    def num_videos(self) -> int:
        return len(self.seeds)


def _first_error(error: ValidationError) -> str:
    """Pydantic's first complaint as "'field': message" (all of them when several)."""
    messages = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "body"
        if item["type"] == "extra_forbidden":
            messages.append(f"unknown field '{field}'; allowed: "
                            f"{sorted(GenerateBody.model_fields)}")
        elif item["type"] == "missing":
            messages.append(f"'{field}' is required")
        else:
            messages.append(f"'{field}': {item['msg']}, got {item.get('input')!r}"[:300])
    return "; ".join(messages)


def display_scale(height: int, display_size: int) -> int:
    """The whole factor that brings `height` px closest to `display_size` px (at least 1)."""
    return max(1, round(display_size / height))


def nesting_depth(text: str, stop_above: int) -> int:
    """How deep JSON `text` nests arrays and objects (strings skipped), counted without parsing:
    json.loads recurses once per level, so a few kB of `[` reach Python's recursion limit
    (RecursionError, a 500). Stops counting once past `stop_above`. On text that is not JSON the
    count is an upper bound of what the parser would reach before failing."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_above:
                break
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


class StageBound:
    """At most `limit` requests at once in one stage of a replica (its event loop is one thread,
    so a plain count): one more is refused at once with a 503 naming `setting`."""

    def __init__(self, limit: int, setting: str, doing: str) -> None:
        self.limit, self.setting, self.doing = limit, setting, doing
        self.count = 0

    @contextmanager
    def admit(self) -> Iterator[None]:
        if self.count >= self.limit:
            raise BadRequest(503, f"{self.count} requests are {self.doing} this replica "
                                  f"(deployment.serve.{self.setting}); retry shortly",
                             retry_after_s=1)
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1


async def read_body(chunks: AsyncIterator[bytes], max_bytes: int, timeout_s: float) -> bytes:
    """The body from `chunks` (Starlette's `request.stream()`), all of it within `timeout_s`
    seconds and at most `max_bytes` (counted as it arrives: a chunked body declares no size).
    Raises BadRequest 408 or 413 naming the limit."""
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in chunks:
                body += chunk
                if len(body) > max_bytes:
                    raise BadRequest(413, f"body is over {max_bytes} bytes, the limit "
                                          "(deployment.serve.max_body_bytes)")
    except TimeoutError:
        raise BadRequest(408, f"the body did not arrive within {timeout_s:g} s "
                              f"(deployment.serve.body_timeout_s): {len(body)} bytes came; "
                              "send it whole") from None
    return bytes(body)


def parse_generate_request(raw: bytes, limits: ServeConfig, height: int | None = None
                           ) -> GenerateRequest:
    """Raw body -> a checked request, or BadRequest(400/413/422) naming the field. The body's
    size is checked before it is parsed. `height`: the model's frame height (for the display
    scale; None: no upscaling)."""
    if len(raw) > limits.max_body_bytes:
        raise BadRequest(413, f"body is {len(raw)} bytes; the limit is {limits.max_body_bytes}")
    try:
        # json's own detection (UTF-8, with or without BOM; UTF-16/32), then the text's depth.
        text = raw.decode(json.detect_encoding(raw))
        depth = nesting_depth(text, limits.max_json_depth)
        if depth > limits.max_json_depth:
            raise BadRequest(400, f"body nests arrays/objects more than {limits.max_json_depth} "
                                  "deep (deployment.serve.max_json_depth); the request is one "
                                  "flat JSON object")
        body = json.loads(text)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an int over 4,300 digits
        raise BadRequest(400, f"body is not valid JSON: {error}"[:300]) from None
    if not isinstance(body, dict):
        raise BadRequest(422, f"body must be a JSON object, got {type(body).__name__}")
    try:
        checked = GenerateBody.model_validate(body)
    except ValidationError as error:
        raise BadRequest(422, _first_error(error)) from None
    try:
        prompt = clean_text(checked.prompt)
    except NotText as error:
        raise BadRequest(422, f"'prompt' is not text: {error}") from None
    if not prompt:
        raise BadRequest(422, "'prompt' is empty (nothing visible is left of it)")
    if len(prompt) > limits.max_prompt_chars:
        raise BadRequest(422, f"'prompt' has {len(prompt)} characters; the limit is "
                              f"{limits.max_prompt_chars}")
    num_videos = checked.num_videos
    if num_videos > limits.max_num_videos:
        raise BadRequest(422, f"'num_videos' must be 1..{limits.max_num_videos}, got {num_videos}")
    seed = checked.seed
    if seed is None:
        seed = secrets.randbelow(MAX_SEED - limits.max_num_videos)
    if seed > MAX_SEED - num_videos + 1:
        raise BadRequest(422, f"'seed' must be 0..{MAX_SEED - num_videos + 1}, got {seed}")
    if checked.display_size is not None and checked.format == "npy":
        raise BadRequest(422, "'display_size' is for mp4 and gif; npy gives the model's frames")
    display_size = checked.display_size or limits.display_size
    if display_size > limits.max_display_size:
        raise BadRequest(422, f"'display_size' must be 1..{limits.max_display_size}, got "
                              f"{display_size}")
    scale = 1 if checked.format == "npy" or height is None else display_scale(height,
                                                                               display_size)
    return GenerateRequest(prompt, list(range(seed, seed + num_videos)), checked.format, scale)


def check_api_key(expected: str | None, headers: dict[str, str]) -> None:
    """With a key configured, `Authorization: Bearer <key>` or `X-API-Key: <key>` must match."""
    if not expected:
        return
    given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise BadRequest(401, "missing or wrong API key (send 'Authorization: Bearer <key>'; "
                              "`seaweed-apt generate` sends the variable deployment.serve."
                              "api_key_env names)")


def require_key_beyond_loopback(host: str, api_key: str | None, key_env: str) -> None:
    """Fail closed: an endpoint that listens beyond loopback must require an API key.
    Raises ValueError naming the fix."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        loopback = host == "localhost"
    if api_key or loopback:
        return
    raise ValueError(f"deployment.serve.host is {host!r}, beyond loopback, and {key_env} is not "
                     f"set: anyone who reaches it could generate. Set {key_env} (the key "
                     "/generate then requires) where Ray runs, or serve on 127.0.0.1")
