"""`POST /generate` bodies checked before any work: each bad input is a 4xx naming the fix."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from seaweed_apt.config.deployment import ServeConfig
from seaweed_apt.text.normalize import NotText, clean_text

FORMATS = {"mp4": "video/mp4", "gif": "image/gif", "npy": "application/octet-stream"}
MAX_SEED = 2**31 - 1
FIELDS = {"prompt", "seed", "num_videos", "format"}


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    seeds: list[int]  # one per video: seed, seed + 1, ...
    format: str

    @property
    def num_videos(self) -> int:
        return len(self.seeds)


def _integer(body: dict, key: str, default: int | None) -> int | None:
    value = body.get(key, default)
    # bool is an int in Python; `true` is not a seed.
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadRequest(422, f"'{key}' must be an integer, got {type(value).__name__}")
    return value


def parse_generate_request(raw: bytes, limits: ServeConfig) -> GenerateRequest:
    """Raw body -> a checked request, or BadRequest(400/413/422) naming the field."""
    if len(raw) > limits.max_body_bytes:
        raise BadRequest(413, f"body is {len(raw)} bytes; the limit is {limits.max_body_bytes}")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest(400, f"body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest(422, f"body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadRequest(422, f"unknown field(s) {unknown}; allowed: {sorted(FIELDS)}")
    prompt = body.get("prompt")
    if prompt is None:
        raise BadRequest(422, "'prompt' is required")
    if not isinstance(prompt, str):
        raise BadRequest(422, f"'prompt' must be a string, got {type(prompt).__name__}")
    try:
        prompt = clean_text(prompt)
    except NotText as error:
        raise BadRequest(422, f"'prompt' is not text: {error}") from None
    if not prompt:
        raise BadRequest(422, "'prompt' is empty (nothing visible is left of it)")
    if len(prompt) > limits.max_prompt_chars:
        raise BadRequest(422, f"'prompt' has {len(prompt)} characters; the limit is "
                              f"{limits.max_prompt_chars}")
    num_videos = _integer(body, "num_videos", 1)
    if not 1 <= num_videos <= limits.max_num_videos:
        raise BadRequest(422, f"'num_videos' must be 1..{limits.max_num_videos}, got {num_videos}")
    seed = _integer(body, "seed", None)
    if seed is None:
        seed = secrets.randbelow(MAX_SEED - limits.max_num_videos)
    if not 0 <= seed <= MAX_SEED - num_videos + 1:
        raise BadRequest(422, f"'seed' must be 0..{MAX_SEED - num_videos + 1}, got {seed}")
    fmt = body.get("format", "mp4")
    if fmt not in FORMATS:
        raise BadRequest(422, f"'format' must be one of {sorted(FORMATS)}, got {fmt!r}")
    return GenerateRequest(prompt, list(range(seed, seed + num_videos)), fmt)


def check_api_key(expected: str | None, headers: dict[str, str]) -> None:
    """With a key configured, `Authorization: Bearer <key>` or `X-API-Key: <key>` must match."""
    if not expected:
        return
    given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise BadRequest(401, "missing or wrong API key (send 'Authorization: Bearer <key>')")
