"""SQL of the keyword index (FTS5 table ``words``): how one photo's row is derived from the catalog.

The row of a photo is rebuilt by triggers whenever what it is made of changes (its path, folder,
camera or content hash, its tags, its recognized text), so every code path - moves, renames, tag
edits, deletions, undo - keeps the index in step. Plain SQL only (no application functions), so a
write from any SQLite connection fires them safely.
"""
from __future__ import annotations

COLUMNS = ("text", "name", "folders", "tags", "camera")
# case and accents folded; "_", "." and "-" separate tokens, so IMG_2041 is "img 2041" and B12 stays "b12"
TOKENIZER = "unicode61 remove_diacritics 2"

_PATH = "replace(CAST(p.path AS TEXT), '\\', '/')"
_DIR = f"rtrim({_PATH}, replace({_PATH}, '/', ''))"  # up to the last '/': rtrim drops every other char
_NAME = f"substr({_PATH}, length({_DIR}) + 1)"
_STEM = f"(CASE WHEN instr({_NAME}, '.') > 1 THEN rtrim(rtrim({_NAME}, replace({_NAME}, '.', '')), '.') ELSE {_NAME} END)"
# the folder part from the library folder's own name down (what lies above it names nothing)
_ROOT = "(SELECT replace(CAST(f.path AS TEXT), '\\', '/') FROM folders f WHERE f.id = p.folder_id)"
_FOLDERS = f"substr({_DIR}, COALESCE(length(rtrim({_ROOT}, replace({_ROOT}, '/', ''))), 0) + 1)"

SELECT_ROWS = (
    "SELECT p.id, "
    "COALESCE((SELECT t.text FROM photo_text t WHERE t.photo_id = p.id AND t.hash = p.hash), ''), "
    f"{_STEM}, {_FOLDERS}, "
    "COALESCE((SELECT group_concat(g.label, ' ') FROM tags g WHERE g.photo_id = p.id AND g.rejected = 0), ''), "
    "COALESCE(p.camera, '') FROM photos p")
INSERT_ROWS = f"INSERT INTO words(rowid, {', '.join(COLUMNS)}) {SELECT_ROWS}"


def refresh(photo_id: str) -> str:
    """Statements (for a trigger body) that rebuild the row of the photo *photo_id* (an SQL expression)."""
    return (f"DELETE FROM words WHERE rowid = {photo_id}; "
            f"{INSERT_ROWS} WHERE p.id = {photo_id};")


def schema() -> list[str]:
    """The recognized-text table, the keyword index and the triggers that keep it in step."""
    return [
        # one row per photo whose text was read: valid while hash is the photo's current content hash
        # (a moved photo keeps it; a changed file gets a new hash, so it is read again). lines: JSON
        # [{"text", "box", "confidence"}]; error: why reading failed (not retried until the file changes)
        """CREATE TABLE photo_text(
               photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
               hash BLOB NOT NULL,
               text TEXT NOT NULL DEFAULT '',
               lines TEXT NOT NULL DEFAULT '[]',
               engine TEXT,
               gated INTEGER NOT NULL DEFAULT 0,
               error TEXT,
               read_at REAL NOT NULL)""",
        "CREATE INDEX photo_text_hash ON photo_text(hash)",
        f"CREATE VIRTUAL TABLE words USING fts5({', '.join(COLUMNS)}, tokenize = '{TOKENIZER}')",
        f"CREATE TRIGGER words_photo_insert AFTER INSERT ON photos BEGIN {refresh('new.id')} END",
        f"CREATE TRIGGER words_photo_update AFTER UPDATE OF path, folder_id, camera, hash ON photos "
        f"BEGIN {refresh('new.id')} END",
        "CREATE TRIGGER words_photo_delete AFTER DELETE ON photos BEGIN DELETE FROM words WHERE rowid = old.id; END",
        f"CREATE TRIGGER words_tag_insert AFTER INSERT ON tags BEGIN {refresh('new.photo_id')} END",
        f"CREATE TRIGGER words_tag_update AFTER UPDATE ON tags BEGIN {refresh('old.photo_id')} "
        f"{refresh('new.photo_id')} END",
        f"CREATE TRIGGER words_tag_delete AFTER DELETE ON tags BEGIN {refresh('old.photo_id')} END",
        f"CREATE TRIGGER words_text_insert AFTER INSERT ON photo_text BEGIN {refresh('new.photo_id')} END",
        f"CREATE TRIGGER words_text_update AFTER UPDATE ON photo_text BEGIN {refresh('new.photo_id')} END",
        f"CREATE TRIGGER words_text_delete AFTER DELETE ON photo_text BEGIN {refresh('old.photo_id')} END",
        INSERT_ROWS,  # the photos already in the catalog
    ]
