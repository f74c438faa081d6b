"""Walking folders safely and reconciling them with the catalog."""
from __future__ import annotations

import os
import threading

import pytest

from helpers import gradient, save
from photosense.core import paths
from photosense.core.catalog import Catalog, PhotoMeta
from photosense.core.scanner import apply_plan, partial_hash, plan_scan, walk_images


def _names(root) -> set[str]:
    return {os.path.relpath(os.fsdecode(f.key), root) for f in walk_images(root)}


def test_walk_finds_images_recursively_and_skips_the_rest(tmp_path):
    save(gradient(), tmp_path / "a.jpg")
    save(gradient(), tmp_path / "deep" / "er" / "b.PNG")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "dir.jpg").mkdir()  # a directory named like an image
    save(gradient(), tmp_path / ".hidden" / "c.jpg")
    save(gradient(), tmp_path / "@eaDir" / "thumb.jpg")
    assert _names(tmp_path) == {"a.jpg", "deep/er/b.PNG"}


def test_walk_survives_symlink_loops_and_dangling_links(tmp_path):
    save(gradient(), tmp_path / "sub" / "a.jpg")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")  # points back up: a cycle
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "dangling.jpg")
    os.symlink(tmp_path / "sub" / "a.jpg", tmp_path / "link-to-a.jpg")
    result: list = []
    walker = threading.Thread(target=lambda: result.extend(walk_images(tmp_path)), daemon=True)
    walker.start()
    walker.join(10)
    assert not walker.is_alive(), "walk hung on a symlink loop"
    names = {os.path.relpath(os.fsdecode(f.key), tmp_path) for f in result}
    assert names == {"sub/a.jpg"}  # the file once, no dangling link, no loop


def test_walk_handles_odd_names(tmp_path):
    odd = os.fsencode(tmp_path) + b"/caf\xe9 \xff.jpg"
    long = "x" * 250 + ".jpg"
    gradient().save(os.fsdecode(odd), "JPEG")
    save(gradient(), tmp_path / long)
    keys = {f.key for f in walk_images(tmp_path)}
    assert odd in keys and os.fsencode(tmp_path / long) in keys


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder")
def test_unreadable_folder_is_reported_and_skipped(tmp_path):
    from photosense.core.scanner import WalkErrors

    save(gradient(), tmp_path / "ok.jpg")
    locked = tmp_path / "locked"
    save(gradient(), locked / "x.jpg")
    os.chmod(locked, 0)
    try:
        errors = WalkErrors()
        assert {os.path.basename(os.fsdecode(f.key)) for f in walk_images(tmp_path, errors)} == {"ok.jpg"}
        assert errors.items and errors.items[0][0] == str(locked)
    finally:
        os.chmod(locked, 0o755)


def test_partial_hash_ignores_name_and_sees_content(tmp_path):
    a = save(gradient(seed=1), tmp_path / "a.png")
    b = tmp_path / "renamed.png"
    b.write_bytes(a.read_bytes())
    c = save(gradient(seed=2), tmp_path / "c.png")
    assert partial_hash(a) == partial_hash(b) != partial_hash(c)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (3 << 20))
    before = partial_hash(big)
    with open(big, "r+b") as fh:  # change only the tail, beyond the first MiB
        fh.seek(-10, 2)
        fh.write(b"x")
    assert partial_hash(big) != before


def test_plan_finds_new_changed_moved_and_removed(tmp_path):
    root = tmp_path / "photos"
    keep = save(gradient(seed=1), root / "keep.jpg")
    change = save(gradient(seed=2), root / "change.jpg")
    move = save(gradient(seed=3), root / "move.jpg")
    gone = save(gradient(seed=4), root / "gone.jpg")
    cat = Catalog(tmp_path / "lib")
    folder = cat.add_folder(root)
    apply_plan(cat, plan_scan(cat, [folder]))
    model = cat.ensure_model("m", 2)
    rows = {p.path: p for p in cat.pending(model)}
    cat.save_indexed(model, [(p.id, partial_hash(p.path), PhotoMeta(), [1.0, 0.0]) for p in rows.values()])
    move_id = rows[str(move)].id

    save(gradient(seed=9, width=70), change)  # new content and size
    (root / "sub").mkdir()
    os.replace(move, root / "sub" / "moved.jpg")
    gone.unlink()
    new = save(gradient(seed=5), root / "new.jpg")

    plan = plan_scan(cat, [folder])
    assert plan.unchanged == 1
    assert [c[0] for c in plan.changed] == [rows[str(change)].id]
    assert [(m[0], os.fsdecode(m[1])) for m in plan.moved] == [(move_id, str(root / "sub" / "moved.jpg"))]
    assert plan.removed == [rows[str(gone)].id]
    assert [os.fsdecode(f.key) for f in plan.new[folder.id]] == [str(new)]

    apply_plan(cat, plan)
    moved = cat.photo(move_id)
    assert moved.path == str(root / "sub" / "moved.jpg")
    assert cat.embedding(move_id, model) is not None  # identity and embedding kept
    assert cat.embedding(rows[str(change)].id, model) is None  # content changed: re-embed
    assert cat.photo(rows[str(gone)].id) is None
    assert cat.photo_by_path(keep).id == rows[str(keep)].id
    cat.close()


def test_unchanged_failures_are_not_retried(tmp_path):
    root = tmp_path / "p"
    bad = root / "bad.jpg"
    bad.parent.mkdir()
    bad.write_text("<html></html>")
    cat = Catalog(tmp_path / "lib")
    folder = cat.add_folder(root)
    st = bad.stat()
    cat.record_failures([(None, paths.to_db(bad), st.st_size, st.st_mtime_ns, "not an image")])
    cat._db.execute("UPDATE failures SET folder_id = ?", (folder.id,))
    plan = plan_scan(cat, [folder])
    assert plan.still_failed == 1 and plan.new_count == 0
    bad.write_text("<html>changed</html>")
    plan = plan_scan(cat, [folder])
    assert plan.new_count == 1  # changed since it failed: try again
    bad.unlink()
    plan = plan_scan(cat, [folder])
    assert plan.forgotten_failures == [paths.to_db(bad)]
    cat.close()
