"""resources/ is found in a checkout and in a frozen (PyInstaller) bundle."""
from __future__ import annotations

import sys

from helpers import REPO
from photosense.core import assets


def test_a_checkout_finds_the_repositorys_resources(monkeypatch):
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert assets.resources_dir.__wrapped__() == REPO / "resources"


def test_a_frozen_bundle_finds_the_resources_it_unpacked(monkeypatch, tmp_path):
    (tmp_path / "resources").mkdir()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert assets.resources_dir.__wrapped__() == tmp_path / "resources"


def test_a_bundle_without_its_resources_falls_back_to_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)  # resources/ missing there
    assert assets.resources_dir.__wrapped__() == REPO / "resources"
