"""The model preference's facts: sizes, speeds timed on this machine (remembered), downloads with byte progress."""
from __future__ import annotations

import threading

import pytest

from photosense.core import model_speed
from photosense.core.errors import DownloadCancelled, ModelUnavailable
from photosense.core.model_downloads import _reporter, download, needs_download
from photosense.core.models import KNOWN_MODELS, model_catalog, parse_spec

pytestmark = pytest.mark.model


def test_speed_is_timed_and_remembered_per_device(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOSENSE_CACHE", str(tmp_path))
    speed = model_speed.measure("tiny-fashion", "cpu")
    assert speed > 0 and model_speed.remembered("cpu") == {"tiny-fashion": pytest.approx(speed, abs=0.01)}
    assert model_speed.remembered("cuda") == {}
    big = model_speed.measure("ViT-B-32:laion2b_s34b_b79k", "cpu")  # its layers, random weights: no download
    assert 0 < big < speed


def test_known_sizes_are_the_parameter_counts():
    from photosense.core.models import weights_mb

    assert weights_mb("ViT-B-32") == KNOWN_MODELS["ViT-B-32:laion2b_s34b_b79k"]
    listed = {m["name"]: m for m in model_catalog()}
    assert listed["tiny-fashion"]["bundled"] and 0 < listed["tiny-fashion"]["size_mb"] < 20
    assert not listed["ViT-L-14:laion2b_s32b_b82k"]["bundled"]


def test_downloads_report_bytes_and_stop_when_cancelled(tmp_path):
    seen, cancel = [], threading.Event()
    bar = _reporter(lambda done, total: seen.append((done, total)), cancel)(total=1000, initial=100, unit="B")
    bar.update(300)
    bar.update(200)
    assert seen == [(400, 1000), (600, 1000)]
    cancel.set()
    with pytest.raises(DownloadCancelled, match="resumes"):
        bar.update(10)
    assert not needs_download(parse_spec("tiny-fashion"), tmp_path)
    assert needs_download(parse_spec("ViT-B-32:laion2b_s34b_b79k"), tmp_path)


def test_no_network_is_a_clear_message(tmp_path, monkeypatch):
    import socket

    def unreachable(*_args, **_kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    with pytest.raises(ModelUnavailable, match="could not be reached.*local file"):
        download(parse_spec("ViT-B-32:laion2b_s34b_b79k"), tmp_path)
