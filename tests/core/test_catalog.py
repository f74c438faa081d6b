"""The SQLite catalog: schema and migrations, folders, photos, embeddings, failures, counts."""
from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest

from photosense.core import paths
from photosense.core.catalog import migrations
from photosense.core.catalog import CATALOG_NAME, Catalog, PhotoMeta
from photosense.core.errors import PhotoSenseError, StorageError


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog(tmp_path)
    yield cat
    cat.close()


def _add_photos(catalog: Catalog, folder: str, names: list[str]) -> list[int]:
    f = catalog.add_folder(folder)
    catalog.add_pending(f.id, [(paths.to_db(os.path.join(folder, n)), 100 + i, 1000 + i)
                               for i, n in enumerate(names)])
    return [catalog.photo_by_path(os.path.join(folder, n)).id for n in names]


def test_new_catalog_has_current_schema_and_wal(tmp_path, catalog):
    assert catalog.schema_version == migrations.SCHEMA_VERSION
    mode = sqlite3.connect(tmp_path / CATALOG_NAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_migration_backs_up_an_older_catalog(tmp_path, monkeypatch):
    Catalog(tmp_path).close()
    added = []

    def v2(db):
        db.execute("CREATE TABLE extra(x)")
        added.append(True)

    monkeypatch.setattr("photosense.core.catalog.connection.MIGRATIONS", [*migrations.MIGRATIONS, v2])
    monkeypatch.setattr("photosense.core.catalog.connection.SCHEMA_VERSION", migrations.SCHEMA_VERSION + 1)
    cat = Catalog(tmp_path)
    assert added and cat.schema_version == migrations.SCHEMA_VERSION + 1
    backup = tmp_path / f"{CATALOG_NAME}.v{migrations.SCHEMA_VERSION}.bak"
    assert backup.is_file()
    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    cat.close()


def test_a_newer_catalog_is_refused_clearly(tmp_path):
    Catalog(tmp_path).close()
    db = sqlite3.connect(tmp_path / CATALOG_NAME)
    db.execute("PRAGMA user_version = 999")
    db.close()
    with pytest.raises(PhotoSenseError, match="newer PhotoSense"):
        Catalog(tmp_path)


def test_folders_and_photos(catalog, tmp_path):
    ids = _add_photos(catalog, str(tmp_path / "pics"), ["a.jpg", "b.jpg"])
    assert [f.path for f in catalog.folders()] == [str(tmp_path / "pics")]
    assert catalog.folder_of(tmp_path / "pics" / "sub" / "c.jpg").path == str(tmp_path / "pics")
    assert catalog.folder_of(tmp_path / "other.jpg") is None
    photo = catalog.photo(ids[0])
    assert photo.path == str(tmp_path / "pics" / "a.jpg") and photo.size == 100 and photo.indexed_at is None
    assert set(catalog.photos_by_ids(ids + [12345])) == set(ids)


def test_non_utf8_paths_round_trip(catalog, tmp_path):
    name = os.fsdecode(b"caf\xe9-\xff.jpg")  # latin-1 bytes: not valid UTF-8
    (pid,) = _add_photos(catalog, str(tmp_path), [name])
    photo = catalog.photo(pid)
    assert os.fsencode(photo.path) == os.fsencode(str(tmp_path)) + b"/caf\xe9-\xff.jpg"
    assert catalog.photo_by_path(photo.path).id == pid


def test_embeddings_are_float16_blobs_and_read_back_as_float32(catalog, tmp_path):
    ids = _add_photos(catalog, str(tmp_path), ["a.jpg", "b.jpg", "c.jpg"])
    model = catalog.ensure_model("tiny", 4)
    assert catalog.ensure_model("tiny", 4) == model
    vecs = np.eye(4, dtype=np.float32)[:3]
    catalog.save_indexed(model, [(pid, b"h%d" % i, PhotoMeta(10, 20, "2020-01-01T00:00:00", "Cam"), v)
                                 for i, (pid, v) in enumerate(zip(ids, vecs))])
    blob = catalog._scalar("SELECT vector FROM embeddings WHERE photo_id = ?", (ids[0],))
    assert len(blob) == 4 * 2
    got_ids, matrix = next(catalog.iter_embeddings(model, 4))
    assert list(got_ids) == ids and matrix.dtype == np.float32 and np.allclose(matrix, vecs)
    assert catalog.photo(ids[1]).camera == "Cam"
    assert catalog.counts(model) == {"photos": 3, "indexed": 3, "pending": 0, "failed": 0}
    assert catalog.embedded_by_hash(model) == {b"h0": ids[0], b"h1": ids[1], b"h2": ids[2]}


def test_copy_reuses_metadata_and_embedding(catalog, tmp_path):
    a, b = _add_photos(catalog, str(tmp_path), ["a.jpg", "copy-of-a.jpg"])
    model = catalog.ensure_model("tiny", 2)
    catalog.save_indexed(model, [(a, b"same", PhotoMeta(3, 4, None, "Cam"), np.array([0.6, 0.8]))])
    catalog.copy_indexed(model, [(b, b"same", a)])
    assert np.allclose(catalog.embedding(b, model), [0.6, 0.8], atol=1e-3)
    assert catalog.photo(b).camera == "Cam" and catalog.photo(b).indexed_at is not None


def test_failures_replace_photos_and_count(catalog, tmp_path):
    a, b = _add_photos(catalog, str(tmp_path), ["good.jpg", "bad.jpg"])
    catalog.record_failures([(b, paths.to_db(tmp_path / "bad.jpg"), 5, 6, "empty file (0 bytes)")])
    assert catalog.photo(b) is None
    (failure,) = catalog.failures()
    assert failure.path == str(tmp_path / "bad.jpg") and failure.reason == "empty file (0 bytes)"
    assert catalog.counts(None) == {"photos": 1, "indexed": 0, "pending": 1, "failed": 1}
    folder = catalog.folders()[0]
    assert catalog.failure_states(folder.id) == {paths.to_db(tmp_path / "bad.jpg"): (5, 6)}


def test_removing_a_folder_cascades(catalog, tmp_path):
    ids = _add_photos(catalog, str(tmp_path / "x"), ["a.jpg", "b.jpg"])
    model = catalog.ensure_model("m", 2)
    catalog.save_indexed(model, [(ids[0], b"h", PhotoMeta(), np.ones(2))])
    removed = catalog.remove_folder(catalog.folders()[0].id)
    assert sorted(removed) == sorted(ids)
    assert catalog.counts(model)["photos"] == 0 and len(catalog.embedding_ids(model)) == 0


def test_batches_commit_atomically(catalog, tmp_path):
    (pid,) = _add_photos(catalog, str(tmp_path), ["a.jpg"])
    model = catalog.ensure_model("m", 2)
    with pytest.raises(PhotoSenseError, match="refused a change .*FOREIGN KEY.*nothing was written") as err:
        # the second row names a photo that does not exist: the whole batch rolls back
        catalog.save_indexed(model, [(pid, b"h", PhotoMeta(), np.ones(2)), (999, b"x", PhotoMeta(), np.ones(2))])
    assert not isinstance(err.value, StorageError) and isinstance(err.value.__cause__, sqlite3.IntegrityError)
    assert catalog.counts(model)["indexed"] == 0 and catalog.photo(pid).hash is None


def test_a_constraint_violation_is_a_clear_error_and_the_catalog_stays_usable(catalog, tmp_path):
    catalog.add_folder(tmp_path / "a")
    with pytest.raises(PhotoSenseError, match=f"library catalog {tmp_path / CATALOG_NAME} refused a change"):
        with catalog.transaction() as db:
            db.execute("INSERT INTO folders(path, added_at) VALUES(?, 0)", (paths.to_db(tmp_path / "b"),))
            db.execute("INSERT INTO folders(path, added_at) VALUES(?, 0)", (paths.to_db(tmp_path / "a"),))
    assert [f.path for f in catalog.folders()] == [str(tmp_path / "a")]  # rolled back
    catalog.add_folder(tmp_path / "c")  # no transaction left open
    assert len(catalog.folders()) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_library_reports_a_storage_error(tmp_path):
    cat = Catalog(tmp_path)
    cat.close()
    os.chmod(tmp_path / CATALOG_NAME, 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        cat = Catalog(tmp_path)
        with pytest.raises(StorageError, match="Nothing was lost"):
            cat.add_folder(tmp_path / "p")
    finally:
        os.chmod(tmp_path, 0o755)


def test_write_failure_becomes_a_storage_error(catalog, tmp_path):
    class FullDisk:
        in_transaction = False

        def execute(self, sql, *a):
            if sql.startswith("BEGIN"):
                raise sqlite3.OperationalError("database or disk is full")
            raise AssertionError(sql)

    catalog._db, real = FullDisk(), catalog._db
    try:
        with pytest.raises(StorageError, match="disk is full"):
            catalog.add_folder(tmp_path)
    finally:
        catalog._db = real


def test_a_damaged_catalog_file_is_a_clear_error(tmp_path):
    (tmp_path / CATALOG_NAME).write_bytes(b"this is not an SQLite database, just damaged bytes " * 200)
    with pytest.raises(PhotoSenseError, match=f"{CATALOG_NAME} is damaged or is not a PhotoSense catalog"):
        Catalog(tmp_path)
