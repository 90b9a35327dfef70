"""Every library package a DVC stage's pipeline imports (directly or through other library
packages) is a dependency of that stage in dvc.yaml: otherwise `dvc repro` would call a stage
up to date after a change to code it runs."""

import ast
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

LIBRARY = PROJECT_ROOT / "src"


def _library_imports(path: Path) -> set[str]:
    modules = set()
    for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module)
            elif isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
    return {module for module in modules if module.split(".")[0] == "seaweed_apt"}


def _dependency_path(module: str) -> Path | None:
    """The folder of a subpackage (seaweed_apt.apt.loop -> src/seaweed_apt/apt), or the file of
    a top-level module (seaweed_apt.config -> src/seaweed_apt/config.py)."""
    parts = module.split(".")
    if len(parts) >= 2 and (LIBRARY / parts[0] / parts[1]).is_dir():
        return LIBRARY / parts[0] / parts[1]
    file = LIBRARY.joinpath(*parts).with_suffix(".py")
    return file if file.exists() else None


def _stages() -> dict[str, list[str]]:
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    return {name: [dep if isinstance(dep, str) else next(iter(dep))
                   for dep in spec.get("deps", [])] for name, spec in stages.items()}


@pytest.mark.parametrize("stage", [name for name, deps in _stages().items()
                                   if any(dep.startswith("pipelines/") for dep in deps)])
def test_a_stage_depends_on_every_library_package_its_pipeline_imports(stage):
    deps = _stages()[stage]
    listed = {(PROJECT_ROOT / dep).resolve() for dep in deps}
    reached, frontier = set(), [PROJECT_ROOT / dep for dep in deps if dep.startswith("pipelines/")]
    while frontier:
        for module in _library_imports(frontier.pop()):
            path = _dependency_path(module)
            if path is not None and path.resolve() not in reached:
                reached.add(path.resolve())
                frontier.append(path)
    missing = sorted(str(path.relative_to(PROJECT_ROOT.resolve())) for path in reached - listed)
    assert not missing, f"dvc.yaml stage {stage} runs code it does not depend on: {missing}"
