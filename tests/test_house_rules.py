"""House rules of the code base: SQL only in the catalog, small modules, a docstring on every module."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import REPO

PACKAGE = REPO / "photosense"
CATALOG = PACKAGE / "core" / "catalog"
MAX_LINES = 500
# a statement keyword at the start of a string, or the clause pairs no prose uses
_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK|WITH)\s"
                  r"|\bFROM\s+\w+(\s+\w+)?\s+(WHERE|JOIN|LEFT|ORDER|GROUP)\b|\bWHERE\s+\w+(\.\w+)?\s*(=|IN|IS)\b")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, joined
            out.append((node.lineno, "".join(v.value for v in node.values
                                             if isinstance(v, ast.Constant) and isinstance(v.value, str))))
    return out


def test_sql_lives_only_in_the_catalog_package():
    offenders = [f"{p.relative_to(REPO)}:{line}: {text.strip()[:60]!r}"
                 for p in _modules() if CATALOG not in p.parents
                 for line, text in _strings(ast.parse(p.read_text())) if _SQL.search(text)]
    assert offenders == []


def test_the_sql_detector_finds_sql():
    for sql in ("SELECT id FROM photos WHERE path = ?", "  INSERT INTO tags(a) VALUES(?)",
                "DELETE FROM album_photos WHERE album_id = ?", "PRAGMA user_version",
                "x FROM photos p JOIN embeddings e"):
        assert _SQL.search(sql), sql
    for prose in ("Select a folder to add", "Photos from the folder where you keep them",
                  "Update the library with what changed", "delete it first"):
        assert not _SQL.search(prose), prose


def test_no_module_is_over_500_lines():
    big = {str(p.relative_to(REPO)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}


def test_every_module_says_what_it_is_for():
    missing = [str(p.relative_to(REPO)) for p in _modules()
               if p.read_text().strip() and not ast.get_docstring(ast.parse(p.read_text()))]
    assert missing == []
