"""Errors of the run store; each names the store file."""

from __future__ import annotations

from ..errors import ConfigurationError, RuntrackError

__all__ = ["StoreError", "StoreLockedError", "StoreVersionError", "StoreWriteError"]


class StoreError(RuntrackError):
    """The store file cannot be used (not a runtrack store, unreadable)."""


class StoreVersionError(StoreError, ConfigurationError):
    """The file was written by a newer runtrack: its schema version is above the one this runtrack knows."""


class StoreLockedError(StoreError):
    """Another process is syncing into the same file and did not finish within the timeout."""

    def __init__(self, message: str, *, pid: int | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.pid = pid


class StoreWriteError(StoreError):
    """A write into the store failed (disk full, read-only file); the page was rolled back, the store is intact."""
