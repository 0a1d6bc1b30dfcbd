"""The migration engine: ``plan`` (read only), ``apply`` (idempotent, checkpointed) and ``reconcile``.

apply, per batch of source items (the sink's ``batch_size``):

1. look the batch up at the destination by key, except items the id map says were written with the same
   fingerprint (trusted: a no-op re-apply sends nothing; reconcile reads everything back and marks a deleted
   object ``missing``, which the next apply looks up and recreates). Items left ``in_flight`` by a killed pass
   that are not found are looked up once more after ``settle_seconds`` (a request the server was still finishing
   when the client died);
2. classify each item (:func:`~runtrack.migrate.planner.classify`);
3. mark creates and updates ``in_flight`` and commit; write; record the vendor ids as ``written`` and commit.
   A batch the destination rejects whole (:class:`BatchRejected`) is split in halves until the bad item is
   alone: it is recorded ``blocked`` with the reason, the others are written.

An error while writing stops the pass: its batch stays ``in_flight`` (looked up first next time) and the result
carries the error. An error while reading (the source, a lookup: a wrong token or project) is raised as it is,
typed. Nothing is ever re-sent without a lookup first.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from runtrack.errors import RuntrackError

from .contract import BatchRejected, Direction, Found, Item, MigrationError, Sink
from .keys import destination_key
from .planner import batched, classify
from .reconciler import compare_fields
from .results import Extra, Failure, Gone, MigrationResult, Mismatch, Missing, Plan, PlanEntry, Reconciliation
from .state import Containers, MapRow, MigrationState, PassRecord, connect_store

NOT_FOUND = "not found at the destination"
#: id-map states apply trusts without a lookup (when the fingerprint is unchanged)
TRUSTED = frozenset({"written", "verified"})

__all__ = ["Migration"]


class Migration:
    """One direction bound to a source, a target and a store. ``on_progress(items_done)`` is called after each
    batch. ``settle_seconds`` is how long an ``in_flight`` item not found is given before it is written again."""

    def __init__(
        self,
        direction: Direction,
        *,
        store: Any = None,
        settle_seconds: float = 2.0,
        on_progress: Callable[[int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.direction = direction
        self.store = store
        self.settle_seconds = settle_seconds
        self.on_progress = on_progress
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self.direction.name

    def _state(self) -> MigrationState:
        if self.store is None:
            raise MigrationError(f"migration {self.name}: apply and reconcile need a store (store=PATH)")
        return MigrationState(connect_store(self.store), direction=self.name)

    def _keyed(self, sink: Sink, scope: Mapping[str, Any]) -> Iterator[Item]:
        """The direction's items with their keys; a source key seen before in this pass is left out (the same
        run listed by two queues is one destination object: the first listing wins)."""
        d = self.direction
        seen: set[str] = set()
        for item in d.items(**scope):
            if item.source_key in seen:
                continue
            seen.add(item.source_key)
            key = destination_key(d.name, d.target_platform, sink.instance, sink.kind, item.source_key)
            yield attrs.evolve(item, key=key)

    def _progress(self, done: int) -> None:
        if self.on_progress is not None:
            self.on_progress(done)

    # -- plan

    def plan(self, **scope: Any) -> Plan:
        """What apply would do now; writes nothing anywhere (not even the store)."""
        state = self._read_only_state()
        try:
            sink = self.direction.sink(Containers(state, self.name, read_only=True))
            entries: list[PlanEntry] = []
            for chunk in batched(self._keyed(sink, scope), sink.batch_size):
                live = [i for i in chunk if i.blocked is None]
                rows = state.rows(sink.instance, sink.kind, [i.source_key for i in live]) if state else {}
                found = _look_up(sink, live, rows)
                entries += [classify(i, found.get(i.key), updatable=sink.updatable) for i in chunk]
                self._progress(len(entries))
            return Plan(direction=self.name, target=sink.instance, items=tuple(entries))
        finally:
            if state is not None:
                state.close()

    def _read_only_state(self) -> MigrationState | None:
        """The state, if a store file already exists (plan only reads it, to find a project created earlier)."""
        if self.store is None:
            return None
        path = getattr(self.store, "path", self.store)
        if not hasattr(self.store, "connect") and not (isinstance(path, (str, os.PathLike)) and os.path.exists(path)):
            return None
        conn = connect_store(self.store)
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'migrate_containers'").fetchone() is None:
            conn.close()
            return None
        return MigrationState(conn, direction=self.name)

    def last_pass(self) -> PassRecord | None:
        """The latest pass (apply or reconcile; plan records none) of this direction in the store, if any."""
        state = self._read_only_state()
        if state is None:
            return None
        try:
            return state.last_pass()
        finally:
            state.close()

    # -- apply

    def apply(self, **scope: Any) -> MigrationResult:
        """Write what is missing or changed; idempotent; resumable after any interruption."""
        state = self._state()
        try:
            sink = self.direction.sink(Containers(state, self.name))
            sink.prepare()
            result = MigrationResult(direction=self.name, target=sink.instance)
            with _Pass(state, sink.instance, "apply") as run:
                run.counts = result.counts
                done = 0
                for chunk in batched(self._keyed(sink, scope), sink.batch_size):
                    _Batch(self, sink, state, run.pass_id, result).run(chunk)
                    done += len(chunk)
                    self._progress(done)
                    if result.error is not None:
                        break
                run.status = "ok" if result.ok else "partial"
                run.error = result.error
            return result
        finally:
            state.close()

    # -- reconcile

    def reconcile(self, **scope: Any) -> Reconciliation:
        """Read the destination back and compare it with the source items of ``scope`` and the id map. Streams:
        memory holds the keys and the problems found, not the items. Without a scope (the whole source listed),
        items the id map says were written that the source no longer lists are reported ``gone`` (never deleted)."""
        state = self._state()
        try:
            sink = self.direction.sink(Containers(state, self.name))
            with _Pass(state, sink.instance, "reconcile") as run:
                rec = self._reconcile(sink, state, run.pass_id, scope)
                run.status, run.counts = ("ok" if rec.ok else "mismatch"), rec.counts
            return rec
        finally:
            state.close()

    def _reconcile(self, sink: Sink, state: MigrationState, pass_id: str, scope: Mapping[str, Any]) -> Reconciliation:
        """One reconcile pass (recorded in the journal under ``pass_id``)."""
        mapped = state.mapped_keys(sink.instance, sink.kind)
        found_ids: dict[str, str] = {}
        seen: set[str] = set()
        missing: list[Missing] = []
        mismatched: list[Mismatch] = []
        blocked: list[PlanEntry] = []
        verified = 0
        for chunk in batched(self._keyed(sink, scope), sink.batch_size):
            seen.update(i.key for i in chunk)
            rows = state.rows(sink.instance, sink.kind, [i.source_key for i in chunk])
            live = [i for i in chunk if i.blocked is None]
            found = sink.lookup(live) if live else {}
            found_ids.update((k, f.dest_id) for k, f in found.items())
            entries: list[tuple[str, str, str | None, str | None, str, str | None]] = []
            for item in chunk:
                there, row = found.get(item.key), rows.get(item.source_key)
                reason = item.blocked
                if reason is None and there is None and row is not None and row.state == "blocked":
                    reason = row.last_error
                if reason is not None:
                    blocked.append(PlanEntry(source_key=item.source_key, key=item.key, action="blocked", reason=reason))
                elif there is None:
                    missing.append(
                        Missing(source_key=item.source_key, key=item.key, dest_id=row.dest_id if row else None)
                    )
                    entries.append((item.source_key, item.key, None, None, "missing", "not found at the destination"))
                else:
                    diffs = [
                        Mismatch(source_key=item.source_key, dest_id=there.dest_id, field=f, expected=e, actual=a)
                        for f, e, a in compare_fields(item.payload, there.payload or {})
                    ]
                    mismatched += diffs
                    state_now = "mismatched" if diffs else "verified"
                    verified += not diffs
                    fp = None if diffs else item.fingerprint
                    detail = diffs[0].field if diffs else None
                    entries.append((item.source_key, item.key, there.dest_id, fp, state_now, detail))
            state.record(sink.instance, sink.kind, entries, pass_id=pass_id, op="reconcile")
            self._progress(len(seen))
        extra, scanned = self._extras(sink, seen, found_ids, mapped)
        gone = None if scope else [g for g in state.written_rows(sink.instance, sink.kind) if g.key not in seen]
        counts = {
            "source": len(seen),
            "mapped": sum(1 for k in seen if k in mapped),
            "found": len(found_ids),
            "verified": verified,
            "missing": len(missing),
            "mismatched": len({m.dest_id for m in mismatched}),
            "extra": len(extra),
            "blocked": len(blocked),
        }
        if gone is not None:
            counts["gone"] = len(gone)
        rec = Reconciliation(
            direction=self.name,
            target=sink.instance,
            counts=counts,
            missing=tuple(missing),
            extra=tuple(extra),
            mismatched=tuple(mismatched),
            blocked=tuple(blocked),
            scanned=scanned,
            gone=tuple(Gone(source_key=r.source_key, key=r.key, dest_id=r.dest_id or "") for r in gone or ()),
            gone_checked=gone is not None,
        )
        return rec

    @staticmethod
    def _extras(
        sink: Sink, expected: set[str], found: Mapping[str, str], mapped: Mapping[str, str | None]
    ) -> tuple[list[Extra], bool]:
        """Destination objects with a runtrack key that no source item or map row explains, and second copies."""
        by_key: dict[str, list[Found]] = defaultdict(list)
        try:
            for f in sink.scan():
                by_key[f.key].append(f)
        except NotImplementedError:  # a destination that cannot be enumerated
            return [], False
        extra: list[Extra] = []
        for key, copies in by_key.items():
            if key not in mapped and key not in expected:
                extra += [Extra(key=key, dest_id=f.dest_id, reason="not in the id map") for f in copies]
                continue
            keep = found.get(key) or mapped.get(key) or copies[0].dest_id
            extra += [
                Extra(key=key, dest_id=f.dest_id, reason=f"duplicate of {keep}") for f in copies if f.dest_id != keep
            ]
        return extra, True


class _Pass:
    """One ``migrate_passes`` row, begun on entry and always ended on exit: with the ``status``, ``counts`` and
    ``error`` set by the body, or ``failed`` (an error: its own text, which carries no secret) or ``interrupted``
    (Ctrl-C) when the body raised. A kill -9 leaves it ``running``."""

    def __init__(self, state: MigrationState, target: str, mode: str) -> None:
        self.state = state
        self.pass_id = state.begin_pass(target=target, mode=mode)
        self.status = "failed"
        self.counts: Mapping[str, int] = {}
        self.error: str | None = None

    def __enter__(self) -> _Pass:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            interrupted = isinstance(exc, KeyboardInterrupt)
            self.status = "interrupted" if interrupted else "failed"
            self.error = (str(exc) or type(exc).__name__) if not interrupted else "KeyboardInterrupt"
        self.state.end_pass(self.pass_id, status=self.status, counts_json=json.dumps(self.counts), error=self.error)


class _Batch:
    """apply of one batch."""

    def __init__(
        self, mig: Migration, sink: Sink, state: MigrationState, pass_id: str, result: MigrationResult
    ) -> None:
        self.mig, self.sink, self.state, self.pass_id, self.result = mig, sink, state, pass_id, result
        self.settled: set[str] = set()  # keys created or blocked in this batch

    def record(self, entries: Sequence[tuple[str, str, str | None, str | None, str, str | None]], op: str) -> None:
        if entries:
            self.state.record(self.sink.instance, self.sink.kind, entries, pass_id=self.pass_id, op=op)

    def fail(self, items: Sequence[Item], exc: BaseException) -> None:
        reason = str(exc)
        self.result.error = reason
        self.result.counts["failed"] += len(items)
        self.result.failures += [Failure(source_key=i.source_key, key=i.key, reason=reason) for i in items]
        self.record([(i.source_key, i.key, None, None, "in_flight", reason) for i in items], "failed")

    def run(self, chunk: Sequence[Item]) -> None:
        sink, counts = self.sink, self.result.counts
        live = [i for i in chunk if i.blocked is None]
        rows = self.state.rows(sink.instance, sink.kind, [i.source_key for i in live])
        found = _look_up(sink, live, rows)
        unsettled = [
            i for i in live if i.key not in found and i.source_key in rows and rows[i.source_key].state == "in_flight"
        ]
        if unsettled and self.mig.settle_seconds > 0:
            self.mig._sleep(self.mig.settle_seconds)
            found.update(sink.lookup(unsettled))
        creates: list[Item] = []
        updates: list[tuple[Item, Found]] = []
        skips: list[tuple[Item, Found]] = []
        blocked: list[Item] = []
        for item in chunk:
            entry = classify(item, found.get(item.key), updatable=sink.updatable)
            if entry.action == "create":
                creates.append(item)
            elif entry.action == "update":
                updates.append((item, found[item.key]))
            elif entry.action == "skip":
                skips.append((item, found[item.key]))
            else:
                blocked.append(item)
        self._blocked([(i, i.blocked or "blocked") for i in blocked])
        stale = [(i, f) for i, f in skips if _row_differs(rows.get(i.source_key), f)]
        self.record([(i.source_key, i.key, f.dest_id, f.fingerprint, "written", None) for i, f in stale], "found")
        counts["skipped"] += len(skips)
        if creates:
            self.record([(i.source_key, i.key, None, None, "in_flight", None) for i in creates], "begin_create")
            try:
                self._create(creates)
            except RuntrackError as exc:
                self.fail([i for i in creates if i.key not in self.settled], exc)
                return
        if updates:
            self.record([(i.source_key, i.key, f.dest_id, None, "in_flight", None) for i, f in updates], "begin_update")
            try:
                sink.update(updates)
            except RuntrackError as exc:
                self.fail([i for i, _ in updates], exc)
                return
            self.record(
                [(i.source_key, i.key, f.dest_id, i.fingerprint, "written", None) for i, f in updates], "update"
            )
            counts["updated"] += len(updates)

    def _blocked(self, pairs: Sequence[tuple[Item, str]]) -> None:
        if not pairs:
            return
        self.result.counts["blocked"] += len(pairs)
        self.result.failures += [Failure(source_key=i.source_key, key=i.key, reason=r, blocked=True) for i, r in pairs]
        self.record([(i.source_key, i.key, None, None, "blocked", r) for i, r in pairs], "blocked")

    def _create(self, items: Sequence[Item]) -> None:
        """Create ``items``; a batch rejected whole is bisected down to the bad items."""
        try:
            ids = self.sink.create(items)
        except BatchRejected as exc:
            if len(items) == 1:
                self.settled.add(items[0].key)
                self._blocked([(items[0], exc.message)])
                return
            mid = len(items) // 2
            self._create(items[:mid])
            self._create(items[mid:])
            return
        missing = [i for i in items if i.key not in ids]
        if missing:
            raise MigrationError(
                f"the destination answered without an id for {len(missing)} of {len(items)} created items"
                f" (first: {missing[0].source_key}); the next apply looks them up"
            )
        self.record([(i.source_key, i.key, ids[i.key], i.fingerprint, "written", None) for i in items], "create")
        self.settled.update(i.key for i in items)
        self.result.counts["created"] += len(items)


def _look_up(sink: Sink, items: Sequence[Item], rows: Mapping[str, MapRow]) -> dict[str, Found]:
    """What the destination holds for ``items``. An item the id map says was written with the same fingerprint is
    trusted without a request (reconcile is what reads everything back and marks deletions ``missing``); every
    other item (new, changed, in flight, missing, failed) is looked up."""
    found: dict[str, Found] = {}
    ask: list[Item] = []
    for item in items:
        row = rows.get(item.source_key)
        if row and row.state in TRUSTED and row.dest_id and row.fingerprint == item.fingerprint and row.key == item.key:
            found[item.key] = Found(key=item.key, dest_id=row.dest_id, recorded=row.fingerprint)
        else:
            ask.append(item)
    if ask:
        found.update(sink.lookup(ask))
    return found


def _row_differs(row: MapRow | None, found: Found) -> bool:
    return (
        row is None or row.state not in TRUSTED or row.dest_id != found.dest_id or row.fingerprint != found.fingerprint
    )
