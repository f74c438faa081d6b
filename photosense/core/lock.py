"""A per-library writer lock (an OS file lock, released automatically if the process dies)."""
from __future__ import annotations

import os
from pathlib import Path

from photosense.core.errors import LibraryBusy, StorageError

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class WriterLock:
    """Held by the one process allowed to index a library; re-entrant within that process."""

    def __init__(self, library_dir: Path) -> None:
        self.path = Path(library_dir) / "writer.lock"
        self._fd: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        """Take the lock or raise :class:`LibraryBusy` naming the holder."""
        if self._fd is not None:
            self._depth += 1
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise self._unwritable(err) from err
        if not _try_lock(fd):
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise LibraryBusy(f"The library {self.path.parent} is being indexed by another PhotoSense process "
                              f"(pid {holder}). Wait for it to finish, or stop it, and try again.")
        try:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except OSError as err:
            _unlock(fd)
            os.close(fd)
            raise self._unwritable(err) from err
        self._fd, self._depth = fd, 1

    def _unwritable(self, err: OSError) -> StorageError:
        return StorageError(f"Cannot write to the library folder {self.path.parent}: {err.strerror or err}. "
                            f"PhotoSense keeps its lock file ({self.path.name}) there while it writes; make "
                            "the folder writable (or free some space), or use another library with --library DIR.")

    def release(self) -> None:
        """Give the lock back (when the outermost holder releases)."""
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth == 0:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
