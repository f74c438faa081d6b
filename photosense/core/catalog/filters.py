"""Catalog queries for the query language's filters (folder:, after:, before:, tag:, camera:, kind:, text:)."""
from __future__ import annotations

import re

from photosense.core import paths
from photosense.core.catalog.connection import CatalogConnection, chunks, fold, marks
from photosense.core.catalog.words import phrase, tokens
from photosense.core.query import Filters

# a photo's date: when it was taken, else the file's modification time
_WHEN = "COALESCE(p.taken_at, strftime('%Y-%m-%dT%H:%M:%S', p.mtime_ns / 1000000000, 'unixepoch', 'localtime'))"


def filters_sql(filters: Filters) -> tuple[str, list]:
    """A WHERE fragment over ``photos p`` and its parameters (``"1"`` when nothing is filtered)."""
    conds: list[str] = []
    params: list = []
    if filters.folders:
        parts = []
        for folder in filters.folders:
            if folder.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", folder):
                lo, hi = paths.folder_range(paths.normalize(folder))
                parts.append("(p.path >= ? AND p.path < ?)")
                params += [lo, hi]
            else:  # a name: a folder on the photo's path whose name starts with it
                # ps_folders: the path up to its last separator, case-folded (any script, NFC)
                parts.append("instr(ps_folders(p.path), ?) > 0")
                params.append("/" + fold(folder).strip("/"))
        conds.append("(" + " OR ".join(parts) + ")")
    if filters.after:
        conds.append(f"{_WHEN} >= ?")
        params.append(filters.after)
    if filters.before:
        conds.append(f"{_WHEN} < ?")
        params.append(filters.before)
    for tag in filters.tags:
        set_name, _, label = tag.rpartition("/")
        sql = ("EXISTS (SELECT 1 FROM tags t JOIN prompt_sets s ON s.id = t.set_id WHERE "
               "t.photo_id = p.id AND t.rejected = 0 AND ps_fold(t.label) = ?")
        params.append(fold(label))
        if set_name:
            sql += " AND ps_fold(s.name) = ?"
            params.append(fold(set_name))
        conds.append(sql + ")")
    if filters.cameras:
        conds.append("(" + " OR ".join("instr(ps_fold(COALESCE(p.camera, '')), ?) > 0"
                                       for _ in filters.cameras) + ")")
        params += [fold(c) for c in filters.cameras]
    if filters.kinds:
        conds.append(f"p.kind IN ({marks(filters.kinds)})")
        params += list(filters.kinds)
    for text in filters.texts:  # words of the recognized text: every text: filter must match
        found = tokens(text)
        if not found:
            conds.append("0")  # punctuation only: nothing holds it as a word
            continue
        conds.append("p.id IN (SELECT rowid FROM words WHERE words MATCH ?)")
        params.append("{text} : " + phrase(found))
    return " AND ".join(conds) or "1", params


class FilterQueries(CatalogConnection):
    """Photo ids passing a query's filters, computed in SQLite before any vector search."""

    def filter_photo_ids(self, filters: Filters, among: list[int] | None = None) -> list[int]:
        """Ids of the photos passing *filters* (all of them, or those in *among*), ascending."""
        where, params = filters_sql(filters)
        if among is None:
            return [r[0] for r in self._query(f"SELECT p.id FROM photos p WHERE {where} ORDER BY p.id", params)]
        out: list[int] = []
        for part in chunks(sorted({int(i) for i in among})):
            out += [r[0] for r in self._query(f"SELECT p.id FROM photos p WHERE {where} AND p.id IN "
                                              f"({marks(part)}) ORDER BY p.id", [*params, *part])]
        return out
