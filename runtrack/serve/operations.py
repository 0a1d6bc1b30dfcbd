"""The operations ``runtrack mcp`` and ``runtrack serve`` expose, once: MCP tools and REST routes only translate
arguments and results. Every method returns JSON-safe data or raises a :class:`~runtrack.RuntrackError`
(a :class:`~.problems.ServeError` for requests refused here).

Reads come from the store when there is one (no network), else live from the configured sources; writes always
go to the configured sources and are refused when the server is read-only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from ..adapter import Adapter
from ..config import Config, ReportOptions, SourceSpec, parse_duration, parse_since, suggest
from ..convert import converter
from ..errors import ConfigurationError, NotFoundError, RuntrackError
from ..model import Run, RunStatus
from ..report import ReportSettings, build, report_dict
from ..report.from_store import store_changes
from ..sources import connect_source, read_sources, read_store
from ..store import Store, open_store
from .output import clip, run_json
from .paging import Position, decode_position, encode_position, fingerprint
from .problems import ServeError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_SCAN", "Operations"]

log = logging.getLogger("runtrack.serve")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: adapter pages one ``list_runs`` call reads at most (sparse filters then return fewer runs and a cursor)
MAX_PAGES = 20
#: runs a live ``get_run`` looks through at most before it answers "not found"
MAX_SCAN = 10_000
WRITES = ("create_run", "cancel_run", "add_to_queue")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _status(text: str | None) -> RunStatus | None:
    if text is None or text == "":
        return None
    try:
        return RunStatus(text.strip().upper())
    except ValueError:
        valid = [s.value for s in RunStatus]
        raise ServeError(f"status: unknown status {text!r}" + suggest(text.upper(), valid)) from None


def _limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ServeError(f"limit: must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


class Operations:
    """The served operations over ``config``'s sources, or over the store at ``store_path`` when given."""

    def __init__(
        self,
        config: Config | None,
        *,
        store_path: Path | None = None,
        read_only: bool = False,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if config is None and store_path is None:
            raise ConfigurationError("nothing to serve: give a configuration file or a store")
        self.config = config
        self.store_path = store_path
        self.read_only = read_only or config is None
        self.environ = environ
        self.clock = clock
        self._specs: dict[str, SourceSpec] = {s.name: s for s in config.sources} if config else {}

    # ------------------------------------------------------------------ helpers

    def _spec(self, name: str) -> SourceSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise ServeError(
                f"source: no source named {name!r}" + suggest(name, self._specs), status=404, title="Unknown source"
            )
        return spec

    def _connect(self, spec: SourceSpec) -> Adapter:
        try:
            # a request reads one page of runs for its caller: the adapter's own defaults, not a whole-listing read
            return connect_source(spec, self.environ, defaults={})
        except RuntrackError as exc:
            raise ServeError(
                f"source {spec.name!r} cannot connect: {exc.message}",
                status=503,
                title="Source unavailable",
                platform=spec.adapter,
            ) from None

    @contextlib.contextmanager
    def _store(self) -> Iterator[Store]:
        """The store, opened for one operation (a SQLite connection belongs to the thread that opened it)."""
        assert self.store_path is not None
        with open_store(self.store_path) as store:
            yield store

    def _writable(self, operation: str) -> None:
        if self.read_only:
            why = "it serves a store alone" if self.config is None else "it was started with --read-only"
            raise ServeError(f"{operation}: this server is read-only ({why})", status=403, title="Read-only")

    def _since(self, since: str | None) -> datetime | None:
        if since is None or since == "":
            return None
        try:
            return parse_since(since, self.clock(), "since")
        except ValueError as exc:
            raise ServeError(str(exc)) from None

    # ------------------------------------------------------------------ reads

    def list_sources(self) -> dict[str, Any]:
        """The configured sources: name, adapter, configured scopes, the write actions it has; and where reads
        come from."""
        sources: list[dict[str, Any]] = []
        if not self._specs and self.store_path is not None:
            with self._store() as store:
                for info in store.listings():
                    known = next((s for s in sources if s["name"] == info.source), None)
                    if known is None:
                        known = {"name": info.source, "adapter": info.adapter, "scopes": [], "actions": []}
                        sources.append(known)
                    known["scopes"].append(info.scope)
        for spec in self._specs.values():
            cls = _adapter_class(spec.adapter)
            actions = [a for a in WRITES if cls is not None and callable(getattr(cls, a, None))]
            sources.append(
                {
                    "name": spec.name,
                    "adapter": spec.adapter,
                    "scopes": [dict(s) for s in spec.scopes],
                    "actions": [] if self.read_only else actions,
                }
            )
        return {
            "reads_from": "store" if self.store_path else "live",
            "read_only": self.read_only,
            "sources": clip(sources),
        }

    def list_runs(
        self,
        *,
        source: str | None = None,
        scope: Mapping[str, Any] | None = None,
        status: str | None = None,
        since: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        include_raw: bool = False,
    ) -> dict[str, Any]:
        """Up to ``limit`` runs, oldest listing first, and ``next_cursor`` (None once everything was returned).

        Without ``source`` every source is listed in turn; without ``scope`` every configured scope of it. Pass
        ``next_cursor`` back with the same other arguments to continue: paging covers each run exactly once."""
        n = _limit(limit)
        wanted_status, after = _status(status), self._since(since)
        request = fingerprint(source, dict(scope or {}), status, since, self.store_path is not None)
        if self.store_path is not None:
            return self._list_stored(source, scope, wanted_status, after, n, cursor, request, include_raw)
        if scope and not source:
            raise ServeError("scope: give source too (scope keywords belong to one source's adapter)")
        specs = [self._spec(source)] if source else list(self._specs.values())
        listings = [(spec, dict(scope)) for spec in specs] if scope else [(s, dict(x)) for s in specs for x in s.scopes]
        position = decode_position(cursor, request, len(listings)) if cursor else Position(page_size=n)

        def keep(run: Run) -> bool:
            when = run.created_at or run.started_at  # as the report and the store count "since"
            return (wanted_status is None or run.status is wanted_status) and (
                after is None or when is None or when >= after
            )

        runs, next_position = self._collect(listings, position, n, keep, request)
        return {
            "runs": [run_json(r, include_raw=include_raw) for r in runs],
            "next_cursor": encode_position(next_position, request) if next_position else None,
        }

    def _list_stored(
        self,
        source: str | None,
        scope: Mapping[str, Any] | None,
        status: RunStatus | None,
        since: datetime | None,
        limit: int,
        cursor: str | None,
        request: str,
        include_raw: bool,
    ) -> dict[str, Any]:
        if scope:
            raise ServeError("scope: scope keywords filter live listings; from a store use source, status and since")
        # keyset paging in uid order: the cursor holds the last uid returned, so a deep page costs one index seek
        after = (decode_position(cursor, request, 1).cursor or "") if cursor else ""
        with self._store() as store:
            it = store.runs(source=source, status=status, since=since, after=after)
            runs = [run for _, run in zip(range(limit + 1), it, strict=False)]
        more = len(runs) > limit
        page = runs[:limit]
        return {
            "runs": [run_json(r, include_raw=include_raw) for r in page],
            "next_cursor": encode_position(Position(cursor=page[-1].uid), request) if more else None,
        }

    def get_run(
        self,
        *,
        uid: str | None = None,
        source: str | None = None,
        native_id: str | None = None,
        include_raw: bool = False,
    ) -> dict[str, Any]:
        """One run by ``uid``, or by ``source`` + ``native_id``. From a store this is a lookup; live it looks
        through the configured listings (at most :data:`MAX_SCAN` runs)."""
        name, run = self._find(uid, source, native_id)
        return {"source": name, "run": run_json(run, include_raw=include_raw)}

    def _find(self, uid: str | None, source: str | None, native_id: str | None) -> tuple[str | None, Run]:
        if uid and (source or native_id):
            raise ServeError("give either uid, or source and native_id, not both")
        if not uid and not (source and native_id):
            raise ServeError("give uid, or source and native_id")

        def match(run: Run) -> bool:
            return run.uid == uid if uid else run.native_id == native_id

        what = f"uid {uid}" if uid else f"native id {native_id!r} in source {source!r}"
        if self.store_path is not None:
            with self._store() as store:
                found = store.get(uid) if uid else next((r for r in store.runs(source=source) if match(r)), None)
            if found is None:
                raise NotFoundError(f"no run with {what} in the store")
            return source, found
        specs = [self._spec(source)] if source else list(self._specs.values())
        scanned = 0
        for spec in specs:
            with self._connect(spec) as adapter:
                for scope in spec.scopes:
                    try:
                        for run in adapter.runs(page_size=spec.page_size, max_items=MAX_SCAN - scanned, **scope):
                            scanned += 1
                            if match(run):
                                return spec.name, run
                    except RuntrackError as exc:
                        exc.cursor = None  # the adapter's cursor means nothing to a client of this lookup
                        raise
                    if scanned >= MAX_SCAN:
                        raise NotFoundError(
                            f"no run with {what} among the first {MAX_SCAN} runs of the configured sources "
                            "(a live lookup is a bounded scan; serve from a store for lookups by uid)"
                        )
        raise NotFoundError(f"no run with {what} in the configured sources ({scanned} runs looked at)")

    def run_report(
        self,
        *,
        since: str | None = None,
        stuck_after: str | None = None,
        top_errors: int | None = None,
        group_by: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The aggregate of ``runtrack report``, as its JSON format's document."""
        now = self.clock()
        opts = self.config.report if self.config else ReportOptions()
        if top_errors is not None and top_errors < 0:
            raise ServeError(f"top_errors: must be >= 0, got {top_errors}")
        try:
            stuck = parse_duration(stuck_after, "stuck_after") if stuck_after else opts.stuck_after
        except ValueError as exc:
            raise ServeError(str(exc)) from None
        settings = ReportSettings(
            now=now,
            since=self._since(since) if since else opts.since,
            stuck_after=stuck,
            top_errors=opts.top_errors if top_errors is None else top_errors,
            group_by=tuple(group_by) if group_by else opts.group_by,
        )
        if self.store_path is None:
            specs = [self._spec(name) for name in sources] if sources else list(self._specs.values())
            report = build(read_sources(specs, settings, environ=self.environ), settings)
        else:  # as `runtrack report --store` builds it: the stored listings, and what the last syncs changed
            with self._store() as store:
                results = read_store(store, list(self._specs.values()) or None, settings)
                known = {r.source for r in results}
                for name in sources or ():
                    if name not in known:
                        raise ServeError(f"sources: no source named {name!r}" + suggest(name, known), status=404)
                results = [r for r in results if not sources or r.source in sources]
                changes = store_changes(store, list(dict.fromkeys(r.source for r in results)))
                report = build(results, settings, store=str(store.path), changes=changes)
        doc: dict[str, Any] = clip(report_dict(report))
        return doc

    # ------------------------------------------------------------------ writes

    def create_run(self, *, source: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Start a run on ``source`` (Label Studio prompt inference, Foundry launch); returns the new run."""
        self._writable("create_run")
        spec = self._spec(source)
        with self._connect(spec) as adapter:
            create = self._action(adapter, spec, "create_run")
            try:
                run = create(**dict(params or {}))
            except TypeError as exc:  # missing or unexpected parameters
                raise ServeError(
                    f"params: {exc}".replace("create_run()", "create_run"), platform=spec.adapter
                ) from None
        return {"source": spec.name, "run": run_json(run)}

    def cancel_run(
        self, *, uid: str | None = None, source: str | None = None, native_id: str | None = None
    ) -> dict[str, Any]:
        """Cancel a run (Label Studio inference runs). The work it did so far cannot be resumed."""
        self._writable("cancel_run")
        name, run = self._find(uid, source, native_id)
        spec = self._spec(name) if name else self._owner(run)
        with self._connect(spec) as adapter:
            self._action(adapter, spec, "cancel_run")(run)
        return {"source": spec.name, "uid": run.uid, "native_id": run.native_id, "cancel_requested": True}

    def add_to_queue(self, *, source: str, queue_id: str, run_ids: Sequence[str]) -> dict[str, Any]:
        """Add runs (the platform's run ids) to a LangSmith annotation queue."""
        self._writable("add_to_queue")
        if not run_ids:
            raise ServeError("run_ids: give at least one run id")
        spec = self._spec(source)
        with self._connect(spec) as adapter:
            entries = self._action(adapter, spec, "add_to_queue")(queue_id, list(run_ids))
        return {
            "source": spec.name,
            "queue_id": queue_id,
            "added": len(entries),
            "entries": clip([converter.unstructure(e) for e in entries]),
        }

    def _action(self, adapter: Adapter, spec: SourceSpec, name: str) -> Callable[..., Any]:
        action = getattr(adapter, name, None)
        if not callable(action):
            raise ServeError(
                f"{name}: source {spec.name!r} (adapter {spec.adapter!r}) has no such action",
                status=405,
                title="Not supported by this source",
            )
        return action  # type: ignore[no-any-return]

    def _owner(self, run: Run) -> SourceSpec:
        """The configured source a stored run belongs to: same adapter and instance."""
        for spec in self._specs.values():
            if spec.adapter != run.platform:
                continue
            with self._connect(spec) as adapter:
                if adapter.instance == run.instance:
                    return spec
        raise ServeError(
            f"no configured source reaches {run.platform} at {run.instance}", status=409, title="No source"
        )

    def _collect(
        self,
        listings: Sequence[tuple[SourceSpec, Mapping[str, Any]]],
        position: Position,
        limit: int,
        keep: Callable[[Run], bool],
        request: str,
    ) -> tuple[list[Run], Position | None]:
        """Runs from ``position`` on, across listings, until ``limit`` are kept or :data:`MAX_PAGES` pages were
        read; and the position right after the last run looked at (None past the end of the last listing).

        A failing listing raises its error carrying the server cursor of the failing page, unless runs were
        already collected: those are returned, and the next call meets the error at once."""
        runs: list[Run] = []
        pages = 0
        pos: Position | None = position
        while pos is not None and len(runs) < limit and pages < MAX_PAGES:
            spec, scope = listings[pos.listing]
            walk = pos.page_size
            last = pos.listing + 1 == len(listings)
            after_listing = None if last else Position(listing=pos.listing + 1, page_size=walk)
            here = pos  # the page being fetched
            try:
                with self._connect(spec) as adapter:
                    try:
                        listing = adapter.runs(page_size=spec.page_size or walk, cursor=here.cursor, **scope)
                    except (TypeError, ValueError) as exc:  # a scope value the adapter cannot use
                        raise ServeError(f"scope: {exc}", platform=spec.adapter) from None
                    for page in listing.pages():
                        pages += 1
                        for index in range(here.skip, len(page.items)):
                            if keep(page.items[index]):
                                runs.append(page.items[index])
                            if len(runs) == limit and index + 1 < len(page.items):
                                return runs, attrs.evolve(here, cursor=page.cursor, skip=index + 1)
                        if not page.next_cursor:
                            break
                        here = attrs.evolve(here, cursor=page.next_cursor, skip=0)
                        if len(runs) == limit or pages >= MAX_PAGES:
                            return runs, here
            except RuntrackError as exc:
                if isinstance(exc, ServeError):
                    raise
                if runs:
                    return runs, here
                if exc.cursor is not None and exc.cursor != here.cursor:
                    here = attrs.evolve(here, cursor=exc.cursor, skip=0)
                exc.cursor = encode_position(here, request)
                raise
            pos = after_listing
        return runs, pos


def _adapter_class(name: str) -> type[Adapter] | None:
    from ..plugins import adapter_registry

    info = adapter_registry().get(name)
    return info.cls if info else None
