"""Catalog table group: recognized text (``photo_text``) and the keyword index (FTS5 ``words``)."""
from __future__ import annotations

import json
import re
import sqlite3
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from photosense.core import paths
from photosense.core.catalog import wordsql
from photosense.core.catalog.connection import CatalogConnection, chunks, marks

# which columns stand for which evidence: words in the photo, its file or folder names, its tags or camera
EVIDENCE = {"text": "{text}", "name": "{name folders}", "tag": "{tags camera}"}


@dataclass(frozen=True)
class TextRow:
    """A photo's recognized text as stored: lines are (text, box, confidence); error when reading failed."""

    photo_id: int
    text: str
    lines: list
    engine: str | None
    gated: bool
    error: str | None


@dataclass(frozen=True)
class TextRead:
    """One photo's read, to save: the content hash it was read from, and its text or failure reason."""

    photo_id: int
    hash: bytes
    text: str = ""
    lines: tuple = ()  # (text, box, confidence)
    engine: str | None = None
    gated: bool = False
    error: str | None = None


_TOKEN = re.compile(r"[^\W_]+")

_INSERT_TEXT = "INSERT INTO photo_text(photo_id, hash, text, lines, engine, gated, error, read_at) "
# one read's row, skipped when its photo was removed meanwhile (see _read_rows)
_INSERT_READ = _INSERT_TEXT + "SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?) "
_REPLACE_TEXT = ("ON CONFLICT(photo_id) DO UPDATE SET hash = excluded.hash, text = excluded.text, "
                 "lines = excluded.lines, engine = excluded.engine, gated = excluded.gated, "
                 "error = excluded.error, read_at = excluded.read_at")


def _read_rows(reads: Sequence[TextRead]) -> list[tuple]:
    """Parameters of _INSERT_READ for each read."""
    now = time.time()
    return [(r.photo_id, r.hash, r.text, json.dumps([[t, [list(map(float, c)) for c in box], float(conf)]
                                                    for t, box, conf in r.lines]),
             r.engine, int(r.gated), r.error, now, r.photo_id) for r in reads]


def tokens(text: str) -> list[str]:
    """The index's tokens of *text*, as its tokenizer makes them: letters and digits, case folded
    (accents are folded by the index itself)."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text).casefold())


def folded_tokens(text: str) -> list[str]:
    """Tokens as the index compares them, case and accents folded (to match rows already fetched)."""
    if text.isascii():  # nothing to decompose (most names and text): 10x faster
        return _TOKEN.findall(text.lower())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _TOKEN.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


def phrase(words: Sequence[str]) -> str:
    """An FTS5 phrase (a quoted string, tokenized by the index's tokenizer) of *words*."""
    return '"' + " ".join(words).replace('"', '""') + '"'


class WordTable(CatalogConnection):
    """Recognized text per photo, and keyword queries over text, names, folders, tags and camera."""

    # -- recognized text --------------------------------------------------------------------

    def text_pending(self, model_id: int | None, limit: int | None = None) -> list[tuple[int, str, bytes]]:
        """(id, path, hash) of photos (not videos) embedded by *model_id* whose current content has not
        been read yet (no text row for its hash), oldest first."""
        if model_id is None:
            return []
        sql = ("SELECT p.id, p.path, p.hash FROM photos p JOIN embeddings e ON e.photo_id = p.id AND "
               "e.model_id = ? WHERE p.kind = 'photo' AND p.hash IS NOT NULL AND NOT EXISTS "
               "(SELECT 1 FROM photo_text t WHERE t.photo_id = p.id AND t.hash = p.hash) ORDER BY p.id")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [(i, paths.from_db(p), bytes(h)) for i, p, h in self._query(sql, (model_id,))]

    def text_pending_count(self, model_id: int | None) -> int:
        """How many photos wait for the text stage (see :meth:`text_pending`)."""
        if model_id is None:
            return 0
        return int(self._scalar(
            "SELECT COUNT(*) FROM photos p JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ? "
            "WHERE p.kind = 'photo' AND p.hash IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM photo_text t WHERE t.photo_id = p.id AND t.hash = p.hash)", (model_id,)))

    def copy_text_by_hash(self, model_id: int | None) -> int:
        """Pending photos whose content another photo's text was read from (a copy) reuse that text."""
        if model_id is None:
            return 0
        with self.transaction() as db:
            return db.execute(
                _INSERT_TEXT + "SELECT p.id, p.hash, t.text, t.lines, t.engine, t.gated, t.error, t.read_at "
                "FROM photos p JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ? "
                "JOIN photo_text t ON t.hash = p.hash AND t.photo_id != p.id "
                "WHERE p.kind = 'photo' AND NOT EXISTS (SELECT 1 FROM photo_text o WHERE o.photo_id = p.id "
                "AND o.hash = p.hash) GROUP BY p.id " + _REPLACE_TEXT, (model_id,)).rowcount

    def save_texts(self, reads: Sequence[TextRead]) -> None:
        """Store one batch of reads in a single transaction (photos removed meanwhile are skipped)."""
        with self.transaction() as db:
            db.executemany(_INSERT_READ + _REPLACE_TEXT, _read_rows(reads))

    def save_text_checks(self, text_free: Sequence[TextRead], maybe: Sequence[tuple[int, bytes]],
                         engine: str) -> None:
        """Store the indexer's text check for one batch in a single transaction: *text_free* reads are
        saved unless the photo already has a read of this content (a real read of a file that was only
        touched is kept); a check's own read of content now in *maybe* (id, hash) is dropped, so the text
        stage reads it."""
        with self.transaction() as db:
            db.executemany(_INSERT_READ + _REPLACE_TEXT + " WHERE photo_text.hash IS NOT excluded.hash",
                           _read_rows(text_free))
            db.executemany("DELETE FROM photo_text WHERE photo_id = ? AND hash = ? AND engine = ?",
                           [(photo_id, digest, engine) for photo_id, digest in maybe])

    def text_of(self, photo_id: int) -> TextRow | None:
        """The recognized text of a photo's current content (None: not read yet)."""
        rows = self._query("SELECT t.text, t.lines, t.engine, t.gated, t.error FROM photo_text t JOIN photos p "
                           "ON p.id = t.photo_id AND p.hash = t.hash WHERE t.photo_id = ?", (photo_id,))
        if not rows:
            return None
        text, lines, engine, gated, error = rows[0]
        return TextRow(photo_id, text, json.loads(lines), engine, bool(gated), error)

    def text_failures(self) -> list[tuple[str, str]]:
        """(path, reason) of photos whose current content could not be read, by path."""
        return [(paths.from_db(p), e) for p, e in self._query(
            "SELECT p.path, t.error FROM photo_text t JOIN photos p ON p.id = t.photo_id AND p.hash = t.hash "
            "WHERE t.error IS NOT NULL ORDER BY p.path")]

    # -- keyword queries --------------------------------------------------------------------

    def keyword_ranked(self, expression: str, limit: int) -> list[tuple[int, float]]:
        """(photo id, bm25 - lower is better) of the best *limit* photos matching an FTS5 *expression*."""
        return self._query("SELECT rowid, bm25(words) AS r FROM words WHERE words MATCH ? ORDER BY r LIMIT ?",
                           (expression, int(limit)))

    def keyword_among(self, expression: str, ids: Sequence[int]) -> list[tuple[int, float]]:
        """(photo id, bm25) of the photos of *ids* that match *expression*, best first."""
        out: list[tuple[int, float]] = []
        for part in chunks([int(i) for i in ids]):
            out += self._query(f"SELECT rowid, bm25(words) FROM words WHERE words MATCH ? AND rowid IN "
                               f"({marks(part)})", (expression, *part))
        return sorted(out, key=lambda r: (r[1], r[0]))

    def keyword_rows(self, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """Photo id -> its indexed words (text, name, folders, tags, camera), looked up by id."""
        out: dict[int, tuple[str, ...]] = {}
        # as bytes: a file name that is not UTF-8 is indexed as its raw bytes (the triggers are plain SQL)
        columns = ", ".join(f"CAST({c} AS BLOB)" for c in wordsql.COLUMNS)
        for part in chunks([int(i) for i in ids]):
            for row in self._query(f"SELECT rowid, {columns} FROM words WHERE rowid IN ({marks(part)})", part):
                out[row[0]] = tuple(bytes(v or b"").decode("utf-8", "replace") for v in row[1:])
        return out

    def keyword_evidence(self, units: Sequence[str], ids: Sequence[int]) -> dict[int, list[str]]:
        """Photo id -> what the FTS5 *units* (phrases) matched in it: "text", "name" and/or "tag"."""
        out: dict[int, list[str]] = {}
        if not units or not ids:
            return out
        for kind, columns in EVIDENCE.items():
            expression = f"{columns} : ({' OR '.join(units)})"
            for i, _ in self.keyword_among(expression, ids):
                out.setdefault(i, []).append(kind)
        return out

    # -- checks -----------------------------------------------------------------------------

    def word_problems(self) -> list[str]:
        """The keyword index out of step with the catalog (it is derived: :meth:`rebuild_words` fixes it)."""
        missing = self._scalar("SELECT COUNT(*) FROM photos p WHERE NOT EXISTS "
                               "(SELECT 1 FROM words w WHERE w.rowid = p.id)")
        extra = self._scalar("SELECT COUNT(*) FROM words w WHERE NOT EXISTS "
                             "(SELECT 1 FROM photos p WHERE p.id = w.rowid)")
        found = []
        if missing:
            found.append(f"{missing} photos are missing from the keyword index")
        if extra:
            found.append(f"{extra} keyword index rows belong to no photo")
        try:  # FTS5's own check of its structure against its content
            self._query("INSERT INTO words(words, rank) VALUES('integrity-check', 1)")
        except sqlite3.DatabaseError as err:
            if not any(hint in str(err).lower() for hint in ("readonly", "read-only", "locked")):
                found.append(f"the keyword index is damaged ({err})")
        return found

    def rebuild_words(self) -> None:
        """Rebuild the keyword index from the catalog (it holds nothing of its own)."""
        with self.transaction() as db:
            db.execute("DELETE FROM words")
            db.execute(wordsql.INSERT_ROWS)
