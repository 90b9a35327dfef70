"""Request checking without a server: every malformed body is a BadRequest with its status."""

import pytest

from seaweed_apt.config.deployment import ServeConfig
from seaweed_apt.serving.requests import (
    BadRequest,
    StageBound,
    check_api_key,
    nesting_depth,
    parse_generate_request,
    read_body,
    require_key_beyond_loopback,
)
from tests.helpers import base_config
from tests.serving.cases import BAD_BODIES

LIMITS = base_config(ServeConfig, "deployment.serve", max_prompt_chars=300, max_body_bytes=4096,
                     max_num_videos=4)


@pytest.mark.parametrize(("name", "body", "status"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_malformed_body_is_refused_with_its_status(name, body, status):
    with pytest.raises(BadRequest) as refused:
        parse_generate_request(body, LIMITS)
    assert refused.value.status == status, refused.value.message


def test_valid_body_gets_consecutive_seeds_and_defaults():
    job = parse_generate_request(b'{"prompt": " a bag ", "seed": 7, "num_videos": 3}', LIMITS)
    assert (job.prompt, job.seeds, job.format) == ("a bag", [7, 8, 9], "mp4")
    spaced = parse_generate_request(b'{"prompt": "a  bag\\u200b \\n"}', LIMITS)
    assert spaced.prompt == "a bag"  # invisible characters and whitespace runs are not the prompt
    drawn = parse_generate_request(b'{"prompt": "a bag"}', LIMITS)
    assert len(drawn.seeds) == 1 and 0 <= drawn.seeds[0] < 2**31


def test_nesting_is_counted_outside_strings_only():
    assert nesting_depth('{"prompt": "a bag"}', 8) == 1
    assert nesting_depth('{"prompt": "[[[{{{ \\" ]]] [[["}', 8) == 1  # brackets in a string
    assert nesting_depth('[[1], [[2]]]', 8) == 3
    assert nesting_depth("]]]]" + "[" * 5, 8) == 5  # stray closers do not hide depth
    assert nesting_depth("[" * 4000, 8) == 9  # stops once past the bound


def test_any_mangled_body_is_a_bad_request_never_another_error():
    """Every truncation and 3,000 random byte edits of a valid body: the parser refuses each
    with a BadRequest (4xx) or accepts it; nothing else escapes (a 500 at the endpoint)."""
    import random

    valid = b'{"prompt": "a bag \\u00e9 bouncing", "seed": 7, "num_videos": 2, "format": "gif"}'
    rng = random.Random(36)
    bodies = [valid[:cut] for cut in range(len(valid))]
    for _ in range(3000):
        body = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(body) + 1)
            edit = rng.choice(["insert", "replace", "delete", "repeat"])
            piece = bytes([rng.choice(b'[]{}",:\\0123456789e-.nutrfalse \xff\x00')])
            if edit == "insert":
                body[at:at] = piece
            elif edit == "replace" and at < len(body):
                body[at] = piece[0]
            elif edit == "delete":
                del body[at:at + 1]
            else:
                body[at:at] = piece * rng.randint(50, 3000)
        bodies.append(bytes(body))
    for body in bodies:
        try:
            parse_generate_request(body, LIMITS)
        except BadRequest as refused:
            assert 400 <= refused.status < 500, (body[:80], refused.message)


def test_a_number_past_pythons_digit_limit_is_a_400():
    """json.loads raises a bare ValueError for an integer over 4,300 digits (a larger body
    limit lets one through)."""
    limits = LIMITS.model_copy(update={"max_body_bytes": 8192})
    with pytest.raises(BadRequest) as refused:
        parse_generate_request(b'{"prompt": "a bag", "seed": ' + b"7" * 5000 + b"}", limits)
    assert refused.value.status == 400 and "not valid JSON" in refused.value.message


def test_a_body_is_read_within_its_deadline_and_its_size_bound():
    import asyncio
    import time

    async def chunks(parts, every_s=0.0):
        for part in parts:
            await asyncio.sleep(every_s)
            yield part

    assert asyncio.run(read_body(chunks([b'{"prompt"', b': "a"}']), 64, 1.0)) == \
        b'{"prompt": "a"}'
    started = time.perf_counter()
    with pytest.raises(BadRequest) as refused:  # a byte every 0.1 s: cut off at 0.3 s
        asyncio.run(read_body(chunks([b"x"] * 100, every_s=0.1), 4096, 0.3))
    assert refused.value.status == 408 and "body_timeout_s" in refused.value.message
    assert time.perf_counter() - started < 1.0
    with pytest.raises(BadRequest) as refused:  # chunked: no declared size, counted as it comes
        asyncio.run(read_body(chunks([b"x" * 40] * 1000), 64, 1.0))
    assert refused.value.status == 413


def test_a_full_stage_refuses_at_once_and_counts_out_whatever_ends_a_request():
    bound = StageBound(2, "max_body_reads", "sending their bodies to")
    with bound.admit(), bound.admit():
        with pytest.raises(BadRequest) as refused, bound.admit():
            pass
        assert refused.value.status == 503 and refused.value.retry_after_s == 1
        assert "deployment.serve.max_body_reads" in refused.value.message
    with pytest.raises(BadRequest), bound.admit():
        raise BadRequest(408, "too slow")
    assert bound.count == 0


def test_limits_that_cannot_work_together_are_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="request_timeout_s 5.0 <= body_timeout_s 10.0"):
        base_config(ServeConfig, "deployment.serve", request_timeout_s=5, body_timeout_s=10)
    with pytest.raises(ValidationError, match="max_ongoing_requests 4 < max_batch_size 8"):
        base_config(ServeConfig, "deployment.serve", max_ongoing_requests=4, max_batch_size=8)


def test_an_endpoint_beyond_loopback_refuses_to_start_without_a_key():
    for host in ("127.0.0.1", "::1", "localhost"):
        require_key_beyond_loopback(host, None, "SEAWEED_APT_API_KEY")
    require_key_beyond_loopback("0.0.0.0", "k3y", "SEAWEED_APT_API_KEY")
    for host in ("0.0.0.0", "::", "10.0.0.5", "serving.internal"):
        with pytest.raises(ValueError, match="SEAWEED_APT_API_KEY is not set"):
            require_key_beyond_loopback(host, None, "SEAWEED_APT_API_KEY")


def test_api_key_when_configured():
    check_api_key(None, {})  # none configured: open
    check_api_key("k3y", {"authorization": "Bearer k3y"})
    check_api_key("k3y", {"x-api-key": "k3y"})
    for headers in ({}, {"authorization": "Bearer nope"}, {"x-api-key": ""}):
        with pytest.raises(BadRequest) as refused:
            check_api_key("k3y", headers)
        assert refused.value.status == 401


def test_app_builder_takes_a_config_files_args_and_names_a_wrong_key():
    from pydantic import ValidationError

    from seaweed_apt.serving.app import build_app

    serve = LIMITS.model_dump()
    build_app({"registry_uri": "data/09_registry", "serve": {**serve, "max_batch_size": 4}})
    with pytest.raises(ValidationError, match="serve.max_batch\n  Extra inputs"):
        build_app({"registry_uri": "data/09_registry", "serve": {**serve, "max_batch": 4}})
    from seaweed_apt.serving.app import AppArgs

    assert AppArgs(registry_uri="data/09_registry", serve=LIMITS).registry_uri.startswith("/")
    assert AppArgs(registry_uri="s3://bucket/models", serve=LIMITS).registry_uri == "s3://bucket/models"
