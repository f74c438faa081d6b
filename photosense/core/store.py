"""Read access to the catalog tables that tagging and albums own (writes go through Catalog.transaction)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from photosense.core.catalog import Catalog


def rows(catalog: Catalog, sql: str, params: Sequence = ()) -> list[tuple]:
    """Rows of a read query on the catalog's connection (under its lock)."""
    return catalog._query(sql, params)  # noqa: SLF001 - the catalog's one read path, shared on purpose


def chunks(items: Sequence, size: int = 500) -> Iterator[Sequence]:
    """*items* in slices small enough for SQLite's parameter limit."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
