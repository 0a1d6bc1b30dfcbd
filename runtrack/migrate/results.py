"""What ``plan``, ``apply`` and ``reconcile`` return."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Extra", "Failure", "Gone", "MigrationResult", "Mismatch", "Missing", "Plan", "PlanEntry", "Reconciliation"]

#: Plan actions, in the order summaries show them.
ACTIONS = ("create", "update", "skip", "blocked")


@attrs.frozen(kw_only=True)
class PlanEntry:
    """What apply would do with one source item. ``reason`` explains a ``blocked`` or a ``skip``."""

    source_key: str
    key: str
    action: str
    dest_id: str | None = None
    reason: str | None = None


@attrs.frozen(kw_only=True)
class Plan:
    """A dry run: nothing was written anywhere. ``counts`` has every action of :data:`ACTIONS`."""

    direction: str
    target: str
    items: tuple[PlanEntry, ...]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTIONS, 0)
        for entry in self.items:
            counts[entry.action] += 1
        return counts

    @property
    def blocked(self) -> list[PlanEntry]:
        return [e for e in self.items if e.action == "blocked"]


@attrs.frozen(kw_only=True)
class Failure:
    """An item apply did not write, and why. ``blocked`` items were refused for their content (never retried
    as they are); others failed on the way (a network error: the next apply looks them up first)."""

    source_key: str
    key: str
    reason: str
    blocked: bool = False


@attrs.define(kw_only=True)
class MigrationResult:
    """What one ``apply`` did. ``counts``: created, updated, skipped, blocked, failed. ``error`` is set when the
    pass stopped early (the items of the batch in flight are in ``failures``)."""

    direction: str
    target: str
    counts: dict[str, int] = attrs.field(
        factory=lambda: dict.fromkeys(("created", "updated", "skipped", "blocked", "failed"), 0)
    )
    failures: list[Failure] = attrs.field(factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.error is None


@attrs.frozen(kw_only=True)
class Missing:
    source_key: str
    key: str
    dest_id: str | None  # what the id map remembered, if anything


@attrs.frozen(kw_only=True)
class Extra:
    key: str
    dest_id: str
    reason: str  # "not in the id map" or "duplicate of <dest id>"


@attrs.frozen(kw_only=True)
class Gone:
    """An item the id map says was written that the source no longer lists (deleted or moved out at the source).
    Reported only: the destination object stays where it is."""

    source_key: str
    key: str
    dest_id: str


@attrs.frozen(kw_only=True)
class Mismatch:
    source_key: str
    dest_id: str
    field: str
    expected: Any
    actual: Any


@attrs.frozen(kw_only=True)
class Reconciliation:
    """The destination read back and compared with the source: ``ok`` when nothing is missing, extra, mismatched
    or blocked. ``scanned`` is False when the sink cannot enumerate the destination (extras unknown). ``gone``:
    items written earlier that the source no longer lists, still at the destination (they do not make ``ok``
    False); checked only when the whole source was listed (no scope), else ``gone_checked`` is False."""

    direction: str
    target: str
    counts: dict[str, int]
    missing: tuple[Missing, ...] = ()
    extra: tuple[Extra, ...] = ()
    mismatched: tuple[Mismatch, ...] = ()
    blocked: tuple[PlanEntry, ...] = ()
    scanned: bool = True
    gone: tuple[Gone, ...] = ()
    gone_checked: bool = False

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.mismatched or self.blocked)
