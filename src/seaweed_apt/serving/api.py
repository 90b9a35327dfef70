"""The endpoint's HTTP API as a FastAPI app (Ray Serve's ingress convention): routes, request and
response models, and one error shape, `{"error", "request_id"}`, for every 4xx and 5xx. Its
OpenAPI description is at `/openapi.json`, Swagger UI at `/docs` and ReDoc at `/redoc`, their
scripts served by the endpoint itself (fastapi-offline: no CDN, so the pages work on a cluster
without internet access)."""

from __future__ import annotations

import uuid
from importlib.metadata import PackageNotFoundError, version

from fastapi import Request
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from seaweed_apt.serving.requests import FORMATS, BadRequest, GenerateBody

try:
    _VERSION = version("seaweed-apt")
except PackageNotFoundError:  # run from a source tree that was never installed
    _VERSION = "unknown"


class ErrorBody(BaseModel):
    error: str = Field(description="what was wrong, naming the field or the limit")
    request_id: str = Field(description="also the `x-request-id` header; the server log has it")


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    model_version: str = Field(examples=["v0003"])
    model_status: str = Field(description="production, or preview: a version the promotion "
                                          "gate did not promote")
    api_key_required: bool = Field(description="POST /generate asks for the key of "
                                               "deployment.serve.api_key_env (set where the "
                                               "replica started)")


class ModelCard(BaseModel):
    model_version: str
    model_status: str
    status_note: str
    created_at: str
    files_sha256: dict[str, str]
    lineage: dict = Field(description="data hash (dvc.lock), code commit, parameters hash")
    metrics: dict = Field(description="the evaluation's figures the promotion gate read")
    generation: dict = Field(description="frames, size, fps, text encoder")
    device: str


class BatchStats(BaseModel):
    batch_sizes: list[int] = Field(description="requests per batch formed, the last 1,000")


def request_id(request: Request) -> str:
    """Serve's proxy names every request (`x-request-id`, also set on the response)."""
    return request.headers.get("x-request-id") or uuid.uuid4().hex[:16]


def error_response(request: Request, status: int, message: str,
                   retry_after_s: int | None = None) -> JSONResponse:
    headers = {"retry-after": str(retry_after_s)} if retry_after_s is not None else None
    return JSONResponse({"error": message, "request_id": request_id(request)},
                        status_code=status, headers=headers)


api = FastAPIOffline(
    title="seaweed-apt",
    version=_VERSION,
    summary="One-step text-to-video generation: a generator post-trained by Diffusion "
            "Adversarial Post-Training (APT, arXiv 2501.08316) makes a video in one network "
            "evaluation.",
)


@api.exception_handler(BadRequest)
async def _bad_request(request: Request, error: BadRequest) -> JSONResponse:
    return error_response(request, error.status, error.message, error.retry_after_s)


@api.exception_handler(HTTPException)
async def _no_such_route(request: Request, error: HTTPException) -> JSONResponse:
    """404 and 405 in our error shape, saying which routes there are."""
    path = request.url.path.removeprefix(request.scope.get("root_path", "")) or "/"
    if error.status_code == 405 and path.rstrip("/").endswith("/generate"):
        return error_response(request, 405, "use POST /generate with a JSON body")
    if error.status_code in (404, 405):
        return error_response(request, error.status_code,
                              f"no route {request.method} {path}: try POST /generate, "
                              "GET /healthz, GET /model, GET /docs")
    return error_response(request, error.status_code, str(error.detail))


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_HEADERS = {
    "x-model-version": "the registry version that made the video",
    "x-model-status": "production, or preview (not promoted by the gate)",
    "x-seed": "the seed of each video, comma-separated",
    "x-video-shape": "N x T x H x W x 3 of the model's frames (before display scaling)",
    "x-generation-seconds": "generation and encoding, this request's share of its batch",
    "x-request-id": "the request's id, as in the server log",
}
GENERATE_ROUTE = {
    "summary": "Generate videos from a prompt in one network evaluation",
    "response_class": Response,  # each answer is the video's own Response
    "responses": {
        200: {"description": "the video(s): one clip, videos side by side (mp4, gif), or the "
                             "frames as a NumPy array (npy)",
              "content": {media: _BINARY for media in FORMATS.values()},
              "headers": {name: {"description": text, "schema": {"type": "string"}}
                          for name, text in _HEADERS.items()}},
        400: {"model": ErrorBody, "description": "the body is not JSON, or nests deeper than "
                                                 "deployment.serve.max_json_depth"},
        401: {"model": ErrorBody, "description": "an API key is configured and the request "
                                                 "lacks it (`Authorization: Bearer <key>`)"},
        408: {"model": ErrorBody, "description": "the body did not arrive within "
                                                 "deployment.serve.body_timeout_s"},
        413: {"model": ErrorBody, "description": "the body is over deployment.serve."
                                                 "max_body_bytes (checked before parsing)"},
        422: {"model": ErrorBody, "description": "a field is missing, of the wrong type or "
                                                 "out of its bounds; the error names it"},
        500: {"model": ErrorBody, "description": "generation failed; the log has the request id"},
        503: {"model": ErrorBody, "description": "this replica already waits for "
                                                 "max_body_reads bodies or generates "
                                                 "max_ongoing_requests requests (Retry-After); "
                                                 "or, every slot taken, more requests queued "
                                                 "than max_queued_requests (Serve's own text)"},
    },
    # The body is read as bytes and its size checked before it is parsed, so FastAPI does not
    # parse it: its schema is declared here, from the same model that validates it.
    "openapi_extra": {"requestBody": {"required": True, "content": {
        "application/json": {"schema": GenerateBody.model_json_schema()}}}},
}
