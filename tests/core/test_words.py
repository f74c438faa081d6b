"""The keyword index in the catalog: derived by plain-SQL triggers (any connection keeps it in step) and
backfilled when a schema-5 catalog is migrated."""
from __future__ import annotations

import sqlite3
import time

from photosense.core.catalog import CATALOG_NAME, Catalog
from photosense.core.catalog import migrations
from photosense.core.catalog.words import phrase, tokens


def rows(catalog: Catalog) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in catalog._query("SELECT rowid, text, name, folders, tags, camera FROM words")}


def test_tokens_follow_the_index_tokenizer():
    assert tokens("IMG_2041.JPG") == ["img", "2041", "jpg"]
    assert tokens("Gate B12 — Départ") == ["gate", "b12", "départ"]
    assert phrase(['say "hi"']) == '"say ""hi"""'


def test_a_write_from_a_plain_sqlite_connection_keeps_the_index_in_step(tmp_path):
    catalog = Catalog(tmp_path)
    folder = catalog.add_folder("/pics/Trips")
    catalog.add_pending(folder.id, [(b"/pics/Trips/Lisbon/IMG_2041.jpg", 1, 1)])
    catalog.close()
    db = sqlite3.connect(tmp_path / CATALOG_NAME)  # no PhotoSense SQL functions registered here
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("UPDATE photos SET path = ?, camera = 'Pixel 8' WHERE id = 1", (b"/pics/Trips/Porto/harbour.jpg",))
    db.execute("INSERT INTO photo_text(photo_id, hash, text, read_at) VALUES(1, x'00', 'ignored', 0)")
    db.commit()
    db.close()
    catalog = Catalog(tmp_path)
    try:
        # the text row is for another content hash (the photo has none yet): not in the index
        assert rows(catalog) == {1: ("", "harbour", "Trips/Porto/", "", "Pixel 8")}
        assert catalog.keyword_ranked('"pixel 8"', 5)[0][0] == 1 and catalog.keyword_ranked('"lisbon"', 5) == []
        assert catalog.word_problems() == []
    finally:
        catalog.close()


def test_migrating_a_schema_5_catalog_indexes_its_photos(tmp_path):
    db = sqlite3.connect(tmp_path / CATALOG_NAME, isolation_level=None)
    for step in migrations.MIGRATIONS[:5]:
        step(db)
    db.execute("PRAGMA user_version = 5")
    db.execute("INSERT INTO folders(id, path, added_at) VALUES(1, ?, 0)", (b"/home/me/Pictures",))
    db.execute("INSERT INTO photos(path, folder_id, size, mtime_ns, added_at, camera) VALUES(?, 1, 1, 1, ?, ?)",
               (b"/home/me/Pictures/S\xc3\xa3o Paulo/caf\xc3\xa9 night.jpg", time.time(), "Canon EOS R5"))
    db.close()
    catalog = Catalog(tmp_path)
    try:
        assert catalog.schema_version == migrations.SCHEMA_VERSION == 6
        assert rows(catalog) == {1: ("", "café night", "Pictures/São Paulo/", "", "Canon EOS R5")}
        for query in ('"sao paulo"', '"cafe"', '"CAFÉ"', '"pictures"', '"r5"'):
            assert catalog.keyword_ranked(query, 5)[0][0] == 1, query
        assert catalog.keyword_ranked('"home"', 5) == []  # above the library folder: not a name of the photo
    finally:
        catalog.close()
