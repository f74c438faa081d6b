"""The MainController alone: no window, synchronous pools (every answer is in when a call returns), the fake
colour embedder (no torch). Indexing runs on LiveSync's threads, so those tests wait for its signal."""
from __future__ import annotations

import pytest

from conftest import label_of
from fakes import NAME as FAKE_MODEL
from photosense.core import promptsets
from photosense.ui.bridge import Query
from photosense.ui.controller import NO_SELECTION, WAITING_FOR_MODEL

PALETTE = 'name = "palette"\n[labels.red]\n[labels.green]\n[labels.blue]\n[labels.yellow]\n[labels.purple]\n'


def recorder(signal) -> list:
    """The arguments of every emission of *signal* (one value, or a tuple for several)."""
    seen: list = []
    signal.connect(lambda *args: seen.append(args[0] if len(args) == 1 else args))
    return seen


def colors(controller) -> set[str]:
    return {label_of(p) for p in controller.photos.paths()}


def test_opening_a_library_shows_every_photo(make_controller, color_library, color_folder):
    c = make_controller(color_library, start=False)
    pages, counts, opened = recorder(c.pageChanged), recorder(c.countChanged), recorder(c.libraryOpened)
    assert c.page == ("opening", "")
    c.open(color_library)
    assert opened == [str(color_library)]
    assert c.folders == [str(color_folder[0])]
    assert c.model_state == "ready"
    assert c.status["photos"] == 24 and c.status["indexed"] == 24
    assert c.query == c.shown == Query("all")
    assert sorted(c.photos.paths()) == sorted(color_folder[1])
    assert pages == [("loading", ""), ("grid", "")] and counts == ["24 photos"]


def test_a_text_search_keeps_to_the_relevant_photos_unless_show_all(make_controller, color_library):
    c = make_controller(color_library)
    queries, pages, counts = recorder(c.queryChanged), recorder(c.pageChanged), recorder(c.countChanged)
    c.search("red")
    assert queries == [Query("text", "red")] and c.shown == c.query
    assert colors(c) == {"red"} and c.photos.rowCount() == 6 and counts[-1] == "6 relevant results"
    scores = [item.score for item in c.photos.items()]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert c.search_text() == "red"

    c.search("dog")  # a word the fake cannot see: nothing relevant
    assert c.photos.rowCount() == 0 and pages[-1] == ("no-matches", "dog") and counts[-1] == "0 relevant results"
    c.set_show_all(True)
    assert c.query == Query("text", "dog", True) and c.photos.rowCount() == 24 and counts[-1] == "24 results"
    assert pages[-1] == ("grid", "")
    c.search("")  # the search bar emptied: back to browsing
    assert queries[-1] == Query("all") and c.shown == Query("all") and counts[-1] == "24 photos"
    assert c.search_text() == ""


def test_find_similar_is_a_search_that_clears_back_to_browsing(make_controller, color_library, color_folder):
    c = make_controller(color_library)
    source = next(p for p, color in color_folder[1].items() if color == "blue")
    c.find_similar(source)
    assert c.query == c.shown == Query("similar", source)
    assert source not in c.photos.paths()  # the photo itself is left out
    assert [label_of(p) for p in c.photos.paths()[:5]] == ["blue"] * 5
    assert c.search_text() == ""
    c.clear_search()
    assert c.query == c.shown == Query("all") and c.photos.rowCount() == 24


def test_a_search_typed_before_the_model_waits_for_a_folder_and_its_indexing(qtbot, make_controller, tmp_path,
                                                                             color_folder):
    c = make_controller(tmp_path / "new-library", model=FAKE_MODEL)
    assert c.folders == [] and c.page == ("no-folders", "") and c.model_state == "idle"
    counts, states = recorder(c.countChanged), recorder(c.indexStateChanged)
    c.search("blue")
    assert counts == [WAITING_FOR_MODEL] and c.shown != c.query
    with qtbot.waitSignal(c.indexFinished, timeout=30_000) as finished:
        c.add_folder(str(color_folder[0]))  # added at once; indexed on LiveSync's threads
    assert finished.args[0].indexed == 24
    assert c.folders == [str(color_folder[0])] and c.model_state == "ready"
    assert c.shown == c.query == Query("text", "blue") and colors(c) == {"blue"}  # answered after indexing
    assert states[0].state == "scanning" and states[-1].state == "idle"
    assert any(s.state == "indexing" and s.total == 24 for s in states)
    assert c.status["indexed"] == 24 and c.page == ("grid", "")


def test_photos_found_by_the_scan_are_listed_before_they_are_indexed(qtbot, make_controller, tmp_path,
                                                                    color_folder, gated_model):
    gated_model.free_batches = 1  # the first batch reports progress; the second is held at the model
    c = make_controller(tmp_path / "library", model="fake-gated")
    c.add_folder(str(color_folder[0]))
    qtbot.waitUntil(gated_model.waiting.is_set, timeout=30_000)
    qtbot.waitUntil(lambda: c.index_state.state == "indexing", timeout=30_000)
    assert c.index_state.done < 24 and c.status["indexed"] == 0
    assert sorted(c.photos.paths()) == sorted(color_folder[1]) and c.page == ("grid", "")  # as placeholders
    with qtbot.waitSignal(c.indexFinished, timeout=30_000):
        gated_model.gate.set()
    assert c.status["indexed"] == 24


def test_removing_the_folder_shown_goes_back_to_all_photos_and_then_to_no_folders(make_controller, color_library,
                                                                                  color_folder):
    c = make_controller(color_library)
    folder = str(color_folder[0])
    c.browse("folder", folder)
    assert c.query == c.shown == Query("folder", folder) and c.photos.rowCount() == 24
    c.remove_folder(folder)
    assert c.folders == [] and c.browse_query == c.query == Query("all")
    assert c.page == ("no-folders", "") and c.photos.rowCount() == 0 and c.status["photos"] == 0


def test_a_new_album_is_shown_and_follows_edits_and_deletion(make_controller, color_library):
    c = make_controller(color_library)
    albums = recorder(c.albumsChanged)
    c.organize.create_album("Reds", "red", on_done=c.album_created)
    (reds,) = albums[-1]
    assert reds.name == "Reds" and reds.count == 6 and c.album(reds.id) is reds
    assert c.query == c.shown == Query("album", str(reds.id)) and c.current_album() is reds  # the new album, shown
    assert colors(c) == {"red"} and c.photos.rowCount() == 6
    c.organize.edit_album("Reds", description="blue")  # re-matched: the grid shows what it holds now
    assert colors(c) == {"blue"}
    c.organize.delete_album("Reds")  # deleted: back to every photo
    assert albums[-1] == [] and c.query == Query("all") and c.photos.rowCount() == 24 and c.current_album() is None


def test_removing_photos_from_a_manual_album_keeps_the_current_photo(make_controller, color_library):
    c = make_controller(color_library)
    picks = sorted(c.photos.paths())[:3]
    c.organize.create_album("Picks", manual=True, pin=picks, on_done=c.album_created)
    assert c.query.kind == "album" and sorted(c.photos.paths()) == picks
    kept = recorder(c.currentRowKept)
    c.select([picks[1]], picks[1])
    c.remove_from_album([picks[0]])
    assert sorted(c.photos.paths()) == picks[1:]
    assert kept == [c.photos.row_of(picks[1])]  # the same view refreshed: the view re-selects the photo
    c.remove_from_album(picks[1:])
    assert c.photos.rowCount() == 0 and c.page == ("empty-album", "")


def test_tags_are_listed_with_counts_and_browsed(make_controller, color_library):
    c = make_controller(color_library)
    tags = recorder(c.tagsChanged)
    c.organize.apply_set(promptsets.parse(PALETTE, "test"))
    assert dict(dict(tags[-1])["palette"]) == {"red": 6, "green": 6, "blue": 6, "yellow": 6}  # purple tags none
    assert c.tag_sets == tags[-1]
    c.browse("tag", "palette/green")
    assert c.query == c.shown == Query("tag", "palette/green") and colors(c) == {"green"}
    c.browse("tag", "palette/purple")
    assert c.photos.rowCount() == 0 and c.page == ("empty-tag", "")


def test_selection_loads_details_and_tags_and_a_judged_tag_sticks(make_controller, color_library):
    c = make_controller(color_library)
    c.organize.apply_set(promptsets.parse(PALETTE, "test"))
    c.search("red")
    path, score = c.photos.path(0), c.photos.items()[0].score
    details, tags, cleared = recorder(c.detailsReady), recorder(c.photoTagsReady), recorder(c.detailsCleared)
    busy = recorder(c.busyChanged)
    c.select([path], path)
    assert [(photo.path, s) for photo, s in details] == [(path, score)] and c.details_path == path
    assert [(p, [(t.label, t.rejected) for t in ts]) for p, ts, _albums in tags] == [(path, [("red", False)])]
    c.judge_tag("palette/red", False)
    assert busy[0].startswith("Learning from your choice") and busy[-1] == ""
    p, ts, _albums = tags[-1]
    assert p == path and [(t.label, t.rejected) for t in ts] == [("red", True)]
    assert [t.rejected for t in c.library.tags.of(path, include_rejected=True)] == [True]  # stored

    two = c.photos.paths()[1:3]
    c.select(two, two[0])
    assert cleared[-1] == "2 photos selected" and c.details_path is None
    judged_before = len(busy)
    c.judge_tag("palette/red", False)  # no photo in the details panel: nothing is judged
    assert len(busy) == judged_before
    assert not any(t.rejected for t in c.library.tags.of(two[0], include_rejected=True))
    c.select([])
    assert cleared[-1] == NO_SELECTION


def test_a_model_that_cannot_load_leaves_browsing_and_another_can_be_chosen(make_controller, tmp_path,
                                                                            color_folder, request):
    from photosense import Library
    from photosense.core.errors import ModelUnavailable
    from photosense.core.models import register_embedder, unregister_embedder

    def unavailable():
        raise ModelUnavailable("No weights here")

    register_embedder("fake-unavailable", unavailable)
    request.addfinalizer(lambda: unregister_embedder("fake-unavailable"))
    with Library.open(tmp_path / "library", model="fake-unavailable") as lib:
        lib.add_folder(color_folder[0])
        with pytest.raises(ModelUnavailable):
            lib.index()  # the scan lists the photos; the model is not there
    c = make_controller(tmp_path / "library", start=False)
    failed, counts, pages = recorder(c.modelFailed), recorder(c.countChanged), recorder(c.pageChanged)
    c.open(tmp_path / "library", "fake-unavailable")
    assert c.model_state == "failed" and failed == [("No weights here", "fake-unavailable")]
    assert c.photos.rowCount() == 24 and c.page == ("grid", "")  # browsing works
    c.search("red")
    assert counts[-1] == WAITING_FOR_MODEL and c.shown != c.query
    c.use_model(FAKE_MODEL)  # the library reopens with it and loads it
    assert c.model_state == "ready" and c.library.model_spec == FAKE_MODEL
    assert c.shown == c.query == Query("text", "red")  # the waiting search ran (nothing is embedded yet)
    assert pages.count(("loading", "")) == 1  # reopening never covers the grid with "Loading your photos"
