"""House rules that code review alone would let slip: the Qt boundary and the torchvision shim."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

PACKAGE = REPO / "photosense"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_ui_package_imports_qt():
    offenders = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")
                 if "ui" not in p.relative_to(PACKAGE).parts[:1]
                 and _imports(p) & {"PySide6", "PyQt5", "PyQt6", "shiboken6"}]
    assert offenders == []


def test_import_linter_contract_holds():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_core_imports_without_qt_or_torch_being_loaded():
    code = ("import sys, photosense.services.library, photosense.cli.main, photosense.__main__; "
            "bad = [m for m in ('PySide6', 'torch', 'open_clip') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"  # fast start: torch loads only when a model is needed


def test_torchvision_workaround_lives_in_one_module():
    marker = 'Library("torch' + 'vision"'  # split so this file does not match itself
    users = [str(p.relative_to(REPO)) for p in REPO.rglob("*.py")
             if not {".venv", "build", "dist"} & set(p.parts) and marker in p.read_text()]
    assert users == ["photosense/core/torch_compat.py"]


@pytest.mark.model  # (imports torch and open_clip, in a subprocess)
def test_open_clip_imports_after_the_shim_in_a_fresh_process():
    code = ("from photosense.core.torch_compat import ensure_torchvision_importable as e; e(); "
            "import open_clip, torchvision; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
