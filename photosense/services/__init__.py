"""Services over the core: what the CLI and the desktop app call (library, indexing, search, tags, albums, sync)."""
