"""One writer per store file: an exclusive ``flock`` on ``FILE.lock`` held for a whole sync.

The lock file holds the holder's pid and host, so a second sync that gives up can name the process it waited for.
The operating system releases the lock when the holder dies (even on kill -9): a stale lock cannot outlive it.
Where ``fcntl`` does not exist (Windows), SQLite's own write lock and busy timeout are the only guard.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from .errors import StoreLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriterLock", "lock_path"]


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


class WriterLock:
    """``with WriterLock(path, timeout):`` waits up to ``timeout`` seconds for the lock, then raises
    :class:`StoreLockedError` naming the file and the process holding it."""

    def __init__(
        self,
        path: Path,
        timeout: float,
        *,
        poll: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.timeout = timeout
        self.poll = poll
        self.clock = clock
        self.sleep = sleep
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            return
        fd = os.open(lock_path(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        deadline = self.clock() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if self.clock() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    pid = holder[0] if holder else None
                    who = f"process {pid} on {holder[1]}" if holder else "another process"
                    raise StoreLockedError(
                        f"{self.path}: {who} is syncing into this store; gave up after waiting {self.timeout:g} s "
                        "(run the sync again when it has finished)",
                        pid=pid,
                    ) from None
                self.sleep(self.poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_holder(fd: int) -> tuple[int, str] | None:
    try:
        text = os.pread(fd, 256, 0).decode(errors="replace").split()
        return int(text[0]), text[1] if len(text) > 1 else "this host"
    except (OSError, ValueError, IndexError):
        return None
