# seaweed-apt with ffmpeg and Fashion-MNIST from Debian.
#   docker build -t seaweed-apt .                                   # CPU torch (default)
#   docker build -t seaweed-apt:gpu --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV KEDRO_DISABLE_TELEMETRY=1 DVC_NO_ANALYTICS=1 HF_HUB_OFFLINE=1 \
    RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 RAY_AUTH_MODE=disabled \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ffmpeg dataset-fashion-mnist git make \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# torch first, from the index the build argument names (CPU or a CUDA build), at the version
# pyproject.toml pins (read from it, as the Makefile does), then the project: the image's Python
# packages are pyproject.toml's.
RUN pip install --no-cache-dir --index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple \
      "$(grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')" \
 && pip install --no-cache-dir -e '.[dev]'
# .dockerignore keeps .venv/, data/ and the DVC cache out of the build context.
COPY . .

# fetch-data's `apt-get download` needs package lists at run time.
CMD ["bash", "-c", "apt-get update -qq && dvc repro"]
