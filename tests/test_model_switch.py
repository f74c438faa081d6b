"""Model switching with two fake models: search serves the old model until the new one is complete, then moves."""
from __future__ import annotations

import threading

import pytest

from fakes import COLORS, OTHER, OtherFake, color_image
from helpers import save
from photosense import Library
from photosense.core.errors import ModelMismatch
from photosense.core.models import register_embedder, unregister_embedder


@pytest.fixture
def other_model():
    OtherFake.gate.set()
    OtherFake.waiting.clear()
    register_embedder(OTHER, OtherFake)
    yield OtherFake
    OtherFake.gate.set()
    unregister_embedder(OTHER)


@pytest.fixture
def colors_library(fake_library, tmp_path):
    photos = tmp_path / "photos"
    for n in range(12):
        save(color_image(list(COLORS)[n % 4], seed=n), photos / f"p{n:02d}.jpg")
    assert fake_library.index([photos]).indexed == 12
    return fake_library, photos


def reds(lib: Library) -> list[str]:
    return sorted(h.path for h in lib.search("red"))


def test_search_serves_the_old_model_until_the_switch_is_complete(colors_library, other_model):
    lib, photos = colors_library
    before = reds(lib)
    assert len(before) == 3
    other_model.gate.clear()
    result = {}
    switch = threading.Thread(target=lambda: result.update(summary=lib.switch_model(OTHER)))
    switch.start()
    try:
        assert other_model.waiting.wait(30)
        status = lib.status()
        assert status["switching_to"] == OTHER and status["switch_total"] == 12 and status["switch_done"] == 0
        assert status["model"] == "fake-colors" and reds(lib) == before  # still served meanwhile
        assert {m["model"]: m["serving"] for m in lib.models()} == {"fake-colors": True, OTHER: False}
    finally:
        other_model.gate.set()
        switch.join(60)
    assert result["summary"].done and result["summary"].embedded == 12
    status = lib.status()
    assert status["model"] == OTHER and status["switching_to"] is None and status["indexed"] == 12
    assert reds(lib) == before  # the same answers, from the new model's own vectors
    assert lib.catalog.setting("model") == OTHER


def test_a_stopped_switch_resumes_and_switching_back_is_instant(colors_library, other_model, tmp_path):
    lib, photos = colors_library
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        cancel.set()  # stop after the first batch

    lib.switch_model(OTHER, progress=progress, cancel=cancel)
    assert lib.status()["switching_to"] == OTHER and lib.model_spec == "fake-colors"
    # a photo arrives meanwhile: the old model indexes it, the switch takes it in too
    save(color_image("red", seed=99), photos / "late.jpg")
    assert lib.index().indexed == 1
    summary = lib.resume_switch()
    assert summary.done and lib.model_spec == OTHER and lib.status()["indexed"] == 13
    assert len(reds(lib)) == 4
    other_model.gate.clear()  # switching back must not need the other model at all
    back = lib.switch_model("fake-colors")
    assert back.done and back.embedded == 0 and lib.model_spec == "fake-colors" and len(reds(lib)) == 4
    assert lib.prune_models() == [OTHER]
    assert [m["model"] for m in lib.models()] == ["fake-colors"]
    other_model.gate.set()


def test_tags_and_albums_follow_the_new_model_and_the_users_choices_stay(colors_library, other_model, tmp_path):
    lib, photos = colors_library
    album = lib.albums.create("Reds", "red")
    pinned = str(photos / "p01.jpg")  # green
    lib.albums.pin(album.name, [pinned])
    lib.tags.accept("mine", [str(photos / "p02.jpg")])
    assert lib.switch_model(OTHER).done
    members = {h.path for h in lib.albums.photos(album.name)}
    assert pinned in members and {str(photos / f"p{n:02d}.jpg") for n in (0, 4, 8)} <= members
    assert "mine" in [t.label for t in lib.tags.of(str(photos / "p02.jpg"))]


def test_another_process_serving_the_library_follows_a_finished_switch(colors_library, other_model):
    lib, _ = colors_library
    with Library.open(lib.directory) as reader:
        assert reader.model_spec == "fake-colors"
        assert lib.switch_model(OTHER).done
        assert len(reader.search("red")) == 3 and reader.model_spec == OTHER
        assert reader.status()["model"] == OTHER


def test_opening_with_another_model_points_at_the_switch(colors_library):
    lib, _ = colors_library
    with pytest.raises(ModelMismatch, match="model switch"):
        Library.open(lib.directory, model="tiny-fashion")


def test_switch_cli(colors_library, other_model, capsys):
    from photosense.cli.main import main

    lib, _ = colors_library
    lib.close()
    assert main(["--library", str(lib.directory), "model", "switch", OTHER, "--json"]) == 0
    assert '"done": true' in capsys.readouterr().out
    assert main(["--library", str(lib.directory), "model", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert f'"model": "{OTHER}"' in out and '"serving": true' in out
    assert main(["models", "--json"]) == 0
    assert '"bundled": true' in capsys.readouterr().out
