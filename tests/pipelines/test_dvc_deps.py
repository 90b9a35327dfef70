"""Each DVC stage depends on exactly what it reads: the project code its command imports (followed
by AST through `seaweed_apt` and `pipelines`), the catalog files that define its datasets,
the project module of each dataset class those entries name (`pipelines.datasets.X`,
`pipelines.video_folders.X`), and the parameter groups its nodes take.
A missing dep lets `dvc repro` call a stage up to date after a change to what it runs; an extra
one reruns it (and everything downstream) after a change to what it does not."""

import ast
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

PROJECT = PROJECT_ROOT.resolve()
# Each top-level package of the project and the folder that holds it.
PACKAGES = {"seaweed_apt": PROJECT / "src", "pipelines": PROJECT}
# Read by every `kedro run`: the package, its settings (which import the hooks, and they the
# preflight) and the registry (which imports a stage's package only when that stage is asked for).
KEDRO_FRAMEWORK = ["pipelines/__init__.py", "pipelines/settings.py",
                   "pipelines/pipeline_registry.py"]
# Commands that are not a Kedro run: the file and function of their handler. The handler's
# imports and the file's module-level ones are read; the file itself, mostly other commands, is not.
COMMANDS = {"seaweed-apt fetch-data": ("src/seaweed_apt/cli.py", "fetch_data")}
CATALOGS = sorted((PROJECT / "conf" / "base").glob("catalog*.yml"))
PARAMETERS = sorted((PROJECT / "conf" / "base").glob("parameters*.yml"))


def _module_name(file: Path) -> str:
    for package, folder in PACKAGES.items():
        if file.is_relative_to(folder / package):
            parts = file.relative_to(folder).with_suffix("").parts
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise ValueError(f"{file} is not in a project package")


def _module_files(dotted: str) -> list[Path]:
    """The project files that importing `dotted` runs: each package's __init__.py on the way and
    the module itself. A trailing name that is not a module (`from m import name`) adds nothing."""
    parts = dotted.split(".")
    if parts[0] not in PACKAGES:
        return []
    files, path = [], PACKAGES[parts[0]]
    for part in parts:
        path = path / part
        if (path / "__init__.py").exists():
            files.append(path / "__init__.py")
        elif path.with_suffix(".py").exists():
            files.append(path.with_suffix(".py"))
            break
        else:
            break
    return files


class _Imports(ast.NodeVisitor):
    """Every module an AST imports, at any depth (a function's lazy import runs when it is called),
    except under `if TYPE_CHECKING:`, which never runs."""

    def __init__(self, package: str) -> None:
        self.package, self.modules = package.split("."), set()

    def visit_If(self, node: ast.If) -> None:
        checking = ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for child in node.orelse if checking else [node.test, *node.body, *node.orelse]:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.modules |= {alias.name for alias in node.names}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # from . import x: relative to this module's package
            parents = self.package[:len(self.package) - node.level + 1]
            base = ".".join([*parents, *([node.module] if node.module else [])])
        self.modules |= {f"{base}.{alias.name}" for alias in node.names}


def _imports(file: Path, function: str | None = None) -> set[Path]:
    """The project files that `file`'s imports run; with `function`, only the module-level imports
    and those of that function."""
    tree = ast.parse(file.read_text())
    if function is not None:
        defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        tree.body = [node for node in tree.body if not isinstance(node, defs)
                     or getattr(node, "name", None) == function]
    package = _module_name(file) if file.name == "__init__.py" else \
        _module_name(file).rpartition(".")[0]
    visitor = _Imports(package)
    visitor.visit(tree)
    return {path.resolve() for module in visitor.modules for path in _module_files(module)}


def _closure(files: set[Path]) -> set[Path]:
    reached, frontier = set(files), list(files)
    while frontier:
        for path in _imports(frontier.pop()) - reached:
            reached.add(path)
            frontier.append(path)
    return reached


def _node_datasets(pipeline_file: Path) -> set[str]:
    """The inputs and outputs of every `Node(...)` in a pipeline.py, params included."""
    names = set()
    for call in ast.walk(ast.parse(pipeline_file.read_text())):
        if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("Node"):
            keywords = [k.value for k in call.keywords if k.arg in ("inputs", "outputs")]
            for value in [*call.args[1:3], *keywords]:
                names |= {c.value for c in ast.walk(value)
                          if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return names


def _types(entry) -> set[str]:
    """Every class an entry names (`type`, and `dataset` of a PartitionedDataset)."""
    if isinstance(entry, dict):
        return {t for key, value in entry.items() for t in
                ([value] if key in ("type", "dataset") and isinstance(value, str) else [])
                + list(_types(value))}
    return set()


def _expected_reads(cmd: str) -> set[Path]:
    """The files a stage's command reads, by the rules of the module docstring."""
    kedro = re.fullmatch(r"kedro run --pipelines (\w+)", cmd)
    if kedro is None:
        command = next((c for c in COMMANDS if cmd.startswith(c)), None)
        assert command is not None, f"teach this test what `{cmd}` reads (COMMANDS)"
        file, function = COMMANDS[command]
        return _closure(_imports(PROJECT / file, function))
    package = PROJECT / "pipelines" / kedro[1]
    code = {PROJECT / path for path in KEDRO_FRAMEWORK} | {package / "__init__.py"}
    datasets = _node_datasets(package / "pipeline.py")
    reads = set()
    for catalog in CATALOGS:
        entries = yaml.safe_load(catalog.read_text())
        used = [entries[name] for name in datasets & set(entries)]
        if used:
            reads.add(catalog)
        for module in {t.rsplit(".", 1)[0] for entry in used for t in _types(entry)}:
            code |= set(_module_files(module))
    return reads | _closure({path.resolve() for path in code})


def _files(dep: Path) -> set[Path]:
    if dep.is_dir():
        return {path.resolve() for path in dep.rglob("*")
                if path.is_file() and "__pycache__" not in path.parts}
    return {dep.resolve()} if dep.exists() else set()


def _compact(files: set[Path]) -> list[str]:
    """`files` as dvc.yaml deps: a folder where every file under it is read, else the files."""
    deps, left = [], set(files)
    for folder in sorted({p.parent for p in files}, key=lambda p: len(p.parts)):
        if folder.parent != PROJECT and _files(folder) and _files(folder) <= left:
            deps.append(str(folder))
            left -= _files(folder)
    deps += [str(path) for path in left]
    return sorted(str(Path(d).relative_to(PROJECT)) for d in deps)


def _stages() -> dict[str, dict]:
    return yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]


def _names(entries: list) -> list[str]:
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]


# resolve_params runs on every repro (always_changed), so its deps decide nothing.
@pytest.mark.parametrize("stage", [name for name, spec in _stages().items()
                                   if not spec.get("always_changed")])
def test_a_stage_depends_on_exactly_the_code_and_catalog_it_reads(stage):
    spec = _stages()[stage]
    code_deps = [dep for dep in _names(spec.get("deps", [])) if not dep.startswith("data/")]
    listed = set().union(*(_files(PROJECT / dep) for dep in code_deps))
    expected = _expected_reads(spec["cmd"])
    missing = sorted(str(p.relative_to(PROJECT)) for p in expected - listed)
    extra = sorted(str(p.relative_to(PROJECT)) for p in listed - expected)
    empty = [dep for dep in code_deps if not _files(PROJECT / dep)]
    problems = [f"{what}: {paths}" for what, paths in (
        ("reads without depending on", missing), ("depends on without reading", extra),
        ("names what does not exist", empty)) if paths]
    assert not problems, (f"dvc.yaml stage {stage} " + "; ".join(problems)
                          + ". Its code and conf deps should be:\n  - "
                          + "\n  - ".join(_compact(expected)))


@pytest.mark.parametrize("stage", [name for name, spec in _stages().items()
                                   if spec["cmd"].startswith("kedro run")])
def test_a_stage_tracks_exactly_the_parameter_groups_its_nodes_take(stage):
    spec = _stages()[stage]
    pipeline = PROJECT / "pipelines" / spec["cmd"].split()[-1] / "pipeline.py"
    groups = {name.removeprefix("params:").split(".")[0] for name in _node_datasets(pipeline)
              if name.startswith("params:")}
    # Every stage reads the parameters that ran (resolve_params writes them to params.yaml).
    expected = {("params.yaml", group) for path in PARAMETERS
                for group in yaml.safe_load(path.read_text()) or {} if group in groups}
    tracked = {(file, group) for entry in spec.get("params", []) if isinstance(entry, dict)
               for file, keys in entry.items() for group in keys}
    assert tracked == expected, (f"dvc.yaml stage {stage}: params should be {sorted(expected)}, "
                                 f"not {sorted(tracked)}")
