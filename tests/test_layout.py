"""The house's shape (代码结构): each stage in one folder with the same four files, and no
function a reader cannot take in at once."""

import ast
from pathlib import Path

import pytest

from ycpipelines.foundation.settings import PROJECT_ROOT

STAGES = ("collect", "govern", "deid", "products", "egress")
STAGE_FILES = ("defs.py", "assets.py", "checks.py", "records.py")
MAX_LINES = 60


def long_functions(root: Path) -> dict[str, int]:
    """Every function or method over MAX_LINES lines (a nested one counts within its outer)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    found[f"{path.relative_to(PROJECT_ROOT)}:{node.name}"] = lines
    return found


@pytest.mark.parametrize("folder", ["ycpipelines", "bench"])
def test_no_function_is_over_sixty_lines(folder: str) -> None:
    assert long_functions(PROJECT_ROOT / folder) == {}


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_the_same_four_files(stage: str) -> None:
    folder = PROJECT_ROOT / "ycpipelines" / stage
    assert [name for name in STAGE_FILES if not (folder / name).is_file()] == []
