"""Catalog table group: library folders."""
from __future__ import annotations

import time
from pathlib import Path

from photosense.core import paths
from photosense.core.catalog.connection import CatalogConnection
from photosense.core.catalog.records import Folder


class FolderTable(CatalogConnection):
    """The ``folders`` table: the roots that are scanned and watched."""

    def add_folder(self, path: str | Path) -> Folder:
        """Add a library folder (idempotent)."""
        key = paths.to_db(path)
        with self.transaction() as db:
            db.execute("INSERT INTO folders(path, added_at) VALUES(?, ?) ON CONFLICT(path) DO NOTHING",
                       (key, time.time()))
            row = db.execute("SELECT id, path FROM folders WHERE path = ?", (key,)).fetchone()
        return Folder(row[0], paths.from_db(row[1]))

    def remove_folder(self, folder_id: int) -> list[int]:
        """Forget a folder and everything under it; returns the removed photo ids."""
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM photos WHERE folder_id = ?", (folder_id,))]
            db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
        return ids

    def folders(self) -> list[Folder]:
        """All library folders, by path."""
        return [Folder(r[0], paths.from_db(r[1]))
                for r in self._query("SELECT id, path FROM folders ORDER BY path")]

    def folder_of(self, path: str | Path) -> Folder | None:
        """The library folder *path* lies in (the innermost one), if any."""
        inside = [f for f in self.folders() if paths.is_inside(path, f.path)]
        return max(inside, key=lambda f: len(f.path)) if inside else None


    def absorb_folder(self, parent_id: int, child_id: int) -> None:
        """A folder added above an existing one takes over its photos and failures (ids kept)."""
        with self.transaction() as db:
            db.execute("UPDATE photos SET folder_id = ? WHERE folder_id = ?", (parent_id, child_id))
            db.execute("UPDATE failures SET folder_id = ? WHERE folder_id = ?", (parent_id, child_id))
            db.execute("DELETE FROM folders WHERE id = ?", (child_id,))
