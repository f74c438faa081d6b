"""The SQLite catalog, the library's source of truth and the only home of SQL.

One connection (``connection.CatalogConnection``: WAL, migrations, transactions, storage errors)
with one mixin per table group: folders, photos, embeddings, frames (video moments), failures, tags,
albums, filters, duplicates, stacks and words (recognized text, the keyword index).
"""
from __future__ import annotations

from photosense.core.catalog.albums import AlbumTable
from photosense.core.catalog.connection import CATALOG_NAME, fold
from photosense.core.catalog.duplicates import DuplicateTable
from photosense.core.catalog.embeddings import EmbeddingTable
from photosense.core.catalog.failures import FailureTable
from photosense.core.catalog.filters import FilterQueries
from photosense.core.catalog.folders import FolderTable
from photosense.core.catalog.frames import FrameTable
from photosense.core.catalog.photos import PhotoTable
from photosense.core.catalog.records import (EXCLUDED, FRAME_BASE, MANUAL, MANUAL_SET, MATCH, PINNED, SMART, Album,
                                             Failure, FileState, Folder, Photo, PhotoMeta, Tag, is_frame_vector)
from photosense.core.catalog.stacks import StackRows, StackTable
from photosense.core.catalog.tags import TagTable
from photosense.core.catalog.words import TextRead, TextRow, WordTable

__all__ = ["Catalog", "CATALOG_NAME", "fold", "Album", "Failure", "FileState", "Folder", "Photo", "PhotoMeta",
           "Tag", "StackRows", "FRAME_BASE", "is_frame_vector", "SMART", "MANUAL", "MATCH", "PINNED", "EXCLUDED",
           "MANUAL_SET", "TextRead", "TextRow"]


class Catalog(FolderTable, PhotoTable, EmbeddingTable, FrameTable, FailureTable, TagTable, AlbumTable,
              FilterQueries, DuplicateTable, StackTable, WordTable):
    """One library's catalog: thread-safe, one SQLite connection shared by every table group."""
