"""The local run store: a SQLite file that ``Store.sync`` fills from adapters, page by page and resumably, and
that reports, exports and migrations read with no network. See docs/store.md."""

from .errors import StoreError, StoreLockedError, StoreVersionError, StoreWriteError
from .schema import SCHEMA_VERSION
from .store import ListingInfo, StatusChange, Store, SyncRecord, open_store
from .sync import SyncJob, SyncResult, SyncSpec

__all__ = [
    "SCHEMA_VERSION",
    "ListingInfo",
    "StatusChange",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoreVersionError",
    "StoreWriteError",
    "SyncJob",
    "SyncRecord",
    "SyncResult",
    "SyncSpec",
    "open_store",
]
