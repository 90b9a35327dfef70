"""The library's import layers (docs/pipeline.md, "Layout"): the library never imports Kedro,
serving reaches no report code, and the text type sits below every user of it."""

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).parents[2] / "src" / "seaweed_apt"


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Each module file under `folder` -> the modules it imports (anywhere in the file)."""
    found = {}
    for file in sorted(folder.rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(file.relative_to(LIBRARY.parent))] = names
    return found


@pytest.mark.parametrize(("folder", "forbidden"), [
    (LIBRARY, "kedro"),
    (LIBRARY / "serving", "seaweed_apt.reporting"),
    (LIBRARY / "text", "seaweed_apt.diffusion"),
    (LIBRARY / "text", "seaweed_apt.models"),
    (LIBRARY / "text", "seaweed_apt.training"),
])
def test_a_layer_does_not_import_what_sits_above_it(folder, forbidden):
    offenders = {file: sorted(n for n in names if n == forbidden or n.startswith(forbidden + "."))
                 for file, names in imported_modules(folder).items()}
    assert not {f: n for f, n in offenders.items() if n}
