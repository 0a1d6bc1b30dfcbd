"""Migrations between platforms: a vendor-neutral engine (plan, apply, reconcile), an id map and journal in the
store, and directions registered through the ``register_migrations`` hook. See docs/migrations.md and
docs/writing-a-migration.md."""

from .contract import BatchRejected, Direction, Found, Item, MigrationError, Sink
from .engine import Migration
from .keys import MIGRATE_NS, canonical_json, destination_key, fingerprint
from .registry import DirectionInfo, available_migrations, migration, migration_registry
from .results import Extra, Failure, Gone, MigrationResult, Mismatch, Missing, Plan, PlanEntry, Reconciliation
from .state import Containers, MigrationState, connect_store

__all__ = [
    "MIGRATE_NS",
    "BatchRejected",
    "Containers",
    "Direction",
    "DirectionInfo",
    "Extra",
    "Failure",
    "Found",
    "Gone",
    "Item",
    "Migration",
    "MigrationError",
    "MigrationResult",
    "MigrationState",
    "Mismatch",
    "Missing",
    "Plan",
    "PlanEntry",
    "Reconciliation",
    "Sink",
    "available_migrations",
    "canonical_json",
    "connect_store",
    "destination_key",
    "fingerprint",
    "migration",
    "migration_registry",
]
