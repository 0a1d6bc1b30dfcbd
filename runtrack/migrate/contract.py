"""What a direction and a sink implement: the whole contract between the engine and vendor packages.

A :class:`Direction` (in a vendor package, registered through the ``register_migrations`` hook) turns source
objects into :class:`Item` s. A :class:`Sink` (in the destination's adapter package) finds, creates, updates and
reads back destination objects by the engine's deterministic key. See docs/writing-a-migration.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs

from runtrack.adapter import Option, resolve_options
from runtrack.errors import RuntrackError

from .keys import fingerprint

if TYPE_CHECKING:
    from .state import Containers

__all__ = ["BatchRejected", "Direction", "Found", "Item", "MigrationError", "Sink"]


class MigrationError(RuntrackError):
    """A migration cannot go on (its state file, a destination that is not what the id map says)."""


class BatchRejected(RuntrackError):
    """The destination refused a whole batch because of its content (e.g. Label Studio's 400 for one bad task).

    The engine splits the batch in halves until the bad item is alone; that item is reported ``blocked`` with
    ``reason`` and the rest go through. Only raise it when the same items sent alone could succeed.
    """


@attrs.frozen(kw_only=True)
class Item:
    """One source object mapped for the destination.

    ``source_key`` is stable for the source object (a run's uid); ``payload`` is the JSON-safe mapped
    destination object; ``blocked`` says why it cannot be written (it is then never sent). ``key`` is the
    deterministic destination key, filled in by the engine.
    """

    source_key: str
    payload: Mapping[str, Any]
    blocked: str | None = None
    key: str = ""
    fingerprint: str = attrs.field()

    @fingerprint.default
    def _fingerprint(self) -> str:
        return fingerprint(self.payload)


@attrs.frozen(kw_only=True)
class Found:
    """A destination object carrying a runtrack key: its vendor id and, when read, its payload in the same shape
    as :attr:`Item.payload` (so the engine can compare fingerprints and fields)."""

    key: str
    dest_id: str
    payload: Mapping[str, Any] | None = None
    recorded: str | None = None  # the fingerprint the id map remembers, when the destination was not read

    @property
    def fingerprint(self) -> str | None:
        return self.recorded if self.payload is None else fingerprint(self.payload)


class Sink(Protocol):
    """The destination side of a migration, one instance per (destination, container).

    ``instance`` names the destination container precisely (e.g. ``host/projects/7``): it is part of every key.
    ``update`` is None when the destination is write-once.
    """

    kind: str
    batch_size: int

    @property
    def instance(self) -> str:
        """The destination container, e.g. ``host/projects/7`` (part of every key)."""

    def prepare(self) -> None:
        """Make the destination ready (create its container); called by ``apply`` only, before any write."""

    def lookup(self, items: Sequence[Item]) -> Mapping[str, Found]:
        """What already exists for these items, by key, with payloads read back (one per key, the oldest;
        duplicates are reconcile's business). Must not write."""

    def create(self, items: Sequence[Item]) -> Mapping[str, str]:
        """Create every item (none of them exists); return ``{key: dest_id}``. May raise :class:`BatchRejected`."""

    @property
    def updatable(self) -> bool:
        """False for write-once destinations: a changed source item is then a skip."""

    def update(self, pairs: Sequence[tuple[Item, Found]]) -> None:
        """Rewrite existing objects with the items' payloads (only called when :attr:`updatable`)."""

    def scan(self) -> Iterator[Found]:
        """Every object at the destination carrying a runtrack key (payload optional), for reconcile's extras
        and duplicates. A destination that cannot be enumerated raises NotImplementedError (reconcile says so)."""


class Direction:
    """Base class of a migration direction. Subclasses set the class attributes and implement :meth:`items` and
    :meth:`sink`. Options are declared like adapter options and resolved into ``self.config``."""

    name: ClassVar[str]
    source_platform: ClassVar[str]
    target_platform: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, *, source: Any, target: Any, **options: Any) -> None:
        self.source = source
        self.target = target
        self.config: dict[str, Any] = resolve_options(f"migration {self.name}", self.options, options, environ={})

    def items(self, **scope: Any) -> Iterator[Item]:
        """The source items of ``scope``, mapped; lazy."""
        raise NotImplementedError

    def sink(self, containers: Containers) -> Sink:
        """The destination sink. ``containers`` remembers destination containers this direction created (a
        project), so they are found again by key, never by title. No I/O that writes may happen here."""
        raise NotImplementedError
