"""Item models tested alone with QAbstractItemModelTester (pytest-qt's qtmodeltester)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from helpers import gradient, save
from photosense.core.thumbnails import ThumbnailCache
from photosense.ui.models.photo_model import PathRole, PhotoGridModel, ScoreRole, StateRole
from photosense.ui.tasks import Pools
from photosense.ui.thumbnailer import ThumbnailLoader


def test_grid_model_passes_the_model_tester(qtmodeltester, qapp):
    model = PhotoGridModel()
    model.set_items([(1, "/p/a.jpg", 0.31), (2, "/p/b.jpg", None), (3, "/p/c.png", 0.2)])
    qtmodeltester.check(model, force_py=True)
    model.set_items([])
    qtmodeltester.check(model, force_py=True)


def test_grid_model_roles(qapp):
    model = PhotoGridModel()
    model.set_items([(7, "/p/a.jpg", 0.3125), (8, "/p/b.jpg", None)])
    first, second = model.index(0, 0), model.index(1, 0)
    assert first.data(Qt.ItemDataRole.DisplayRole) == "a.jpg"
    assert first.data(PathRole) == "/p/a.jpg" and first.data(ScoreRole) == 0.3125
    assert "0.312" in first.data(Qt.ItemDataRole.ToolTipRole)
    assert second.data(Qt.ItemDataRole.ToolTipRole) == "b.jpg"  # browsing: no score
    assert not first.data(Qt.ItemDataRole.DecorationRole).isNull()  # a placeholder, never nothing


def test_thumbnails_arrive_from_workers_and_broken_files_get_a_tile(qtbot, tmp_path):
    good = save(gradient(400, 300), tmp_path / "good.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    pools = Pools()
    loader = ThumbnailLoader(pools, ThumbnailCache(tmp_path / "thumbs"))
    model = PhotoGridModel(loader)
    model.set_items([(1, str(good), None), (2, str(broken), None)])
    with qtbot.waitSignals([model.dataChanged, model.dataChanged], timeout=10_000):
        for row in range(2):
            assert model.index(row, 0).data(StateRole) == "loading"
            model.index(row, 0).data(Qt.ItemDataRole.DecorationRole)  # painting asks for it
    assert model.index(0, 0).data(StateRole) == "ready"
    assert model.index(1, 0).data(StateRole) == "broken"
    pixmap = model.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
    assert max(pixmap.width(), pixmap.height()) <= 168 and pixmap.width() > pixmap.height()
    assert len(list((tmp_path / "thumbs").rglob("*.jpg"))) == 1  # cached on disk
    pools.shutdown()


def test_sidebar_sections_and_api(qtbot):
    from photosense.ui.widgets.sidebar import CountRole, Sidebar, ValueRole

    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.set_folders(["/photos/2023", "/photos/phone"])
    sidebar.set_albums([(1, "Holidays", 12)])
    sidebar.set_tags([("scenes", [("beach", 4)]), ("pets", [("dog", 2)])])
    assert sidebar.folder_paths() == ["/photos/2023", "/photos/phone"]
    assert [i.text(0) for i in sidebar.rows("album")] == ["Holidays"]
    assert [i.text(0) for i in sidebar.rows("set")] == ["scenes", "pets"]
    assert [(i.text(0), i.data(0, CountRole), i.data(0, ValueRole)) for i in sidebar.rows("tag")] == [
        ("beach", 4, "scenes/beach"), ("dog", 2, "pets/dog")]
    assert [i.text(0) for i in sidebar.rows("action")] == ["New album…", "New prompt set…"]
    with qtbot.waitSignal(sidebar.selected) as blocker:
        sidebar.select_folder("/photos/phone")
    assert blocker.args == ["folder", "/photos/phone"]
    assert sidebar.remove_button.isEnabled()
    with qtbot.waitSignal(sidebar.actionRequested) as blocker:
        sidebar.tree.itemClicked.emit(sidebar.rows("action")[1], 0)
    assert blocker.args == ["new-set"]
    sidebar.set_tags([])
    assert sidebar.tags_header.child(0).text(0) == "No tags yet"
    assert [i.data(0, ValueRole) for i in sidebar.rows("action")] == ["new-album", "new-set", "default-sets"]


def test_sidebar_tree_model_passes_the_model_tester(qtbot):
    """Qt's own tester watches the sidebar's model while it is refilled; a warning from it fails the test."""
    from PySide6.QtTest import QAbstractItemModelTester

    from photosense.ui.widgets.sidebar import Sidebar, ValueRole

    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    tester = QAbstractItemModelTester(sidebar.tree.model(), QAbstractItemModelTester.FailureReportingMode.Warning)
    sidebar.set_folders(["/photos/2023"])
    sidebar.set_albums([(1, "Holidays", 12), (2, "Best", 0)])
    sidebar.set_tags([("scenes", [("beach", 4), ("sunset", 1)]), ("manual", [])])
    sidebar.select("tag", "scenes/sunset")
    sidebar.set_tags([("scenes", [("sunset", 2)])])  # the selected row survives a refill
    assert sidebar.tree.currentItem().data(0, ValueRole) == "scenes/sunset"
    sidebar.set_albums([])
    del tester  # before the tree: a tester outliving a QTreeWidget's model crashes (Qt 6.11)
