"""The Docker build's context and Python packages: `.dockerignore` leaves out the environment,
the data and the DVC cache (a `COPY . .` sent them all), and the image installs pyproject.toml's
packages, torch at pyproject's pin."""

import re
import subprocess

from tests.conftest import PROJECT_ROOT


def _sent_to_docker(paths: list[str], tmp_path) -> set[str]:
    """Which of `paths` a `docker build` of a tree holding them sends, by our .dockerignore, as
    the Docker SDK's reading of .dockerignore rules decides."""
    from docker.utils.build import exclude_paths

    for path in paths:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"")
    lines = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return set(exclude_paths(str(tmp_path), patterns)) & set(paths)


def test_the_build_context_leaves_out_environment_data_and_caches(tmp_path):
    left_out = [".venv/bin/python", "data/01_raw/real_clips/walk.mp4",
                "data/06_models/teacher/model.safetensors", ".dvc/cache/files/md5/ab/cd",
                "src/seaweed_apt/__pycache__/cli.cpython-311.pyc", "conf/local/credentials.yml"]
    kept = ["src/seaweed_apt/cli.py", "conf/base/parameters.yml", "dvc.yaml", "dvc.lock",
            "pyproject.toml", ".dvc/config", ".git/HEAD", "pipelines/hooks.py"]
    assert _sent_to_docker(left_out + kept, tmp_path) == set(kept)


def test_the_image_installs_pyprojects_packages():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    installs = re.findall(r"pip install[^\n\\]*(?:\\\n[^\n\\]*)*", dockerfile)
    assert any("-e '.[dev]'" in line for line in installs)
    # torch: the pin is read from pyproject.toml by the same shell expression the Dockerfile runs.
    expression = re.search(r'"\$\((grep -o [^)]*)\)"', dockerfile).group(1)
    pin = subprocess.run(["bash", "-c", expression], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert re.fullmatch(r"torch==[\d.]+", pin)
    assert f'"{pin}"' in (PROJECT_ROOT / "pyproject.toml").read_text()
