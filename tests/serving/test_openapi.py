"""The endpoint's OpenAPI description (no server): every route, the request model of
`POST /generate` with its fields and bounds, the media types and headers of a video answer, and
one error model for every refusal. A client generated from it speaks to the real endpoint."""

from seaweed_apt.serving.api import api
from seaweed_apt.serving.app import VideoGenerator  # noqa: F401  (registers the routes)


def test_generate_is_described_with_its_request_model_and_answers():
    spec = api.openapi()
    assert {"/generate", "/healthz", "/model", "/stats"} <= set(spec["paths"])
    post = spec["paths"]["/generate"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["title"] == "GenerateBody" and body["required"] == ["prompt"]
    assert set(body["properties"]) == {"prompt", "seed", "num_videos", "format", "display_size"}
    assert body["additionalProperties"] is False
    assert body["properties"]["format"]["enum"] == ["mp4", "gif", "npy"]
    video = post["responses"]["200"]
    assert set(video["content"]) == {"video/mp4", "image/gif", "application/octet-stream"}
    assert {"x-model-version", "x-seed", "x-video-shape", "x-request-id"} <= set(video["headers"])
    for status in ("400", "401", "413", "422", "500"):
        assert post["responses"][status]["content"]["application/json"]["schema"] == \
            {"$ref": "#/components/schemas/ErrorBody"}, status
    health = spec["paths"]["/healthz"]["get"]["responses"]["200"]["content"]
    assert health["application/json"]["schema"] == {"$ref": "#/components/schemas/Health"}
    assert set(spec["components"]["schemas"]["ModelCard"]["properties"]) >= {
        "model_version", "lineage", "metrics", "generation"}
