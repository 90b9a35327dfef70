"""Request checking without a server: every malformed body is a BadRequest with its status."""

import pytest

from seaweed_apt.config.deployment import ServeConfig
from seaweed_apt.serving.requests import BadRequest, check_api_key, parse_generate_request
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
