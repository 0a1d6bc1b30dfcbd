"""Reading configured sources: connect each through the adapter registry, list every scope, and keep going when one
source fails (the failure, with its resume cursor, is recorded in its :class:`~runtrack.report.SourceResult`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import attrs

from .adapter import Adapter
from .config import ConfigFileError, SourceSpec
from .errors import ConfigurationError, RuntrackError
from .plugins import adapter_registry, connect
from .progress import Progress
from .report import Collector, ReportSettings, SourceResult, scope_label

if TYPE_CHECKING:
    from .store import Store, SyncRecord, SyncResult

__all__ = [
    "LISTING_CONCURRENCY",
    "ListingSync",
    "check_scopes",
    "connect_source",
    "describe_failure",
    "read_source",
    "read_sources",
    "read_store",
    "sync_sources",
]

log = logging.getLogger("runtrack.sources")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


#: pages of one listing in flight where a configured source sets no ``concurrency``: the commands that read
#: configured sources (report, sync, export, runs) read whole listings, and one page after another waits a
#: round trip per page. The source's ``rate_limit`` and the adaptive window (halved on a 429) still hold.
LISTING_CONCURRENCY = 4
_SOURCE_DEFAULTS: Mapping[str, Any] = {"concurrency": LISTING_CONCURRENCY}


def connect_source(
    spec: SourceSpec, environ: Mapping[str, str] | None = None, *, defaults: Mapping[str, Any] = _SOURCE_DEFAULTS
) -> Adapter:
    """``runtrack.connect(spec.adapter, ...)`` with the source's options and secrets from the environment.

    ``defaults`` are options preferred to the adapter's own defaults: each is used when the source does not set it
    and the adapter has it (by default :data:`LISTING_CONCURRENCY` pages of a listing in flight)."""
    options = spec.connect_options(environ)
    if defaults:
        info = adapter_registry().get(spec.adapter)
        known = {o.name for o in info.cls.options} if info is not None else set()
        options = {**{k: v for k, v in defaults.items() if k in known}, **options}
    return connect(spec.adapter, **options)


def check_scopes(
    specs: Iterable[SourceSpec], *, file: str | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Before reading anything: build each configured listing (``runs()`` does no I/O) so a scope the adapter
    rejects is a :class:`ConfigFileError` naming ``source[i].scope``. A source that cannot connect is skipped
    here; reading it reports the failure."""
    for spec in specs:
        try:
            adapter = connect_source(spec, environ)
        except Exception:
            continue
        with adapter:
            for scope in spec.scopes:
                try:
                    adapter.runs(max_items=spec.max_items, page_size=spec.page_size, **scope)
                except (ConfigurationError, TypeError, ValueError) as exc:
                    key = f"{spec.key}.scope" if scope else spec.key
                    text = exc.message if isinstance(exc, ConfigurationError) else str(exc)
                    raise ConfigFileError(
                        f"adapter {spec.adapter!r} rejects {scope_label(scope)}: {text}", file=file, key=key
                    ) from None


def describe_failure(exc: BaseException) -> str:
    """One line for a failure: runtrack errors as they print (redacted, with cursor), others with their type."""
    if isinstance(exc, RuntrackError):
        return str(exc)
    return f"unexpected {type(exc).__name__} while reading: {exc}"


def read_source(
    spec: SourceSpec,
    settings: ReportSettings,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = _utcnow,
    debug: bool = False,
) -> list[SourceResult]:
    """One :class:`SourceResult` per configured scope of ``spec``; errors are recorded, never raised
    (except ``KeyboardInterrupt``). With ``debug`` an unexpected exception's traceback is logged."""
    progress = progress or Progress(None)
    results = [SourceResult(source=spec.name, adapter=spec.adapter, scope=dict(scope)) for scope in spec.scopes]
    started = clock()
    try:
        adapter = connect_source(spec, environ)
    except Exception as exc:
        if debug:
            log.exception("connecting source %r failed", spec.name)
        for r in results:
            r.read_at = r.finished_at = started
            r.error = describe_failure(exc)
        return results
    with adapter:
        for result in results:
            result.read_at = clock()
            collector = Collector(result, settings)
            progress.start(f"{spec.name} {scope_label(result.scope)}")
            try:
                pages = adapter.runs(max_items=spec.max_items, page_size=spec.page_size, **result.scope).pages()
                for page in pages:
                    progress.advance(collector.add(page.items))
            except Exception as exc:
                if debug:
                    log.exception("reading source %r failed", spec.name)
                result.error = describe_failure(exc)
                result.cursor = getattr(exc, "cursor", None)
            finally:
                result.finished_at = clock()
                progress.finish(failed=result.error is not None)
    return results


def read_sources(
    specs: Iterable[SourceSpec],
    settings: ReportSettings,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    debug: bool = False,
) -> list[SourceResult]:
    """Read every source, one after another; see :func:`read_source`."""
    results: list[SourceResult] = []
    for spec in specs:
        results.extend(read_source(spec, settings, progress=progress, environ=environ, debug=debug))
    return results


def read_store(
    store: Store,
    specs: Iterable[SourceSpec] | None,
    settings: ReportSettings,
    *,
    progress: Progress | None = None,
) -> list[SourceResult]:
    """The runs of each configured listing as the last ``runtrack sync`` stored them: no network, no credentials.

    One :class:`SourceResult` per scope of each spec (every listing in the store when ``specs`` is None), holding
    the runs that listing returned in its last pass; ``settings.since`` is a SQL filter of the store. A listing
    never synced is a failed result that says so. ``read_at`` is when the listing was last read completely.
    """
    from .report.from_store import fold_listings
    from .store.sync import scope_json

    progress = progress or Progress(None)
    listings = store.listings()
    if specs is None:
        wanted = [(info.source, info.adapter, info.scope) for info in listings]
    else:
        wanted = [(spec.name, spec.adapter, dict(scope)) for spec in specs for scope in spec.scopes]
    results: list[SourceResult] = []
    targets: dict[str, list[SourceResult]] = {}
    for source, adapter, scope in wanted:
        result = SourceResult(source=source, adapter=adapter, scope=scope)
        results.append(result)
        matches = [i for i in listings if i.source == source and scope_json(i.scope) == scope_json(scope)]
        if not matches:
            result.error = f"not in the store {store.path}: run `runtrack sync` first"
            continue
        done = [i.last_complete_at for i in matches if i.last_complete_at is not None]
        result.read_at = result.finished_at = max(done) if done else None
        for info in matches:
            targets.setdefault(info.key, []).append(result)
    if targets:
        progress.start(f"{store.path.name}: {len(targets)} listings")
        progress.advance(fold_listings(store, targets, settings))  # in SQL, one pass per figure for all listings
        progress.finish()
    return results


@attrs.frozen(kw_only=True)
class ListingSync:
    """How syncing one listing of a source went: its result, or the error and the failed pass's record."""

    source: str
    scope: Mapping[str, Any]
    result: SyncResult | None = None
    error: str | None = None
    record: SyncRecord | None = None  #: the failed pass (runs stored before the error), when there was one


def sync_sources(
    store: Store,
    specs: Iterable[SourceSpec],
    *,
    workers: int = 1,
    full: bool = False,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = _utcnow,
    debug: bool = False,
) -> Iterator[ListingSync]:
    """``store.sync`` every scope of every spec, up to ``workers`` listings read at once and stored in order; a
    listing's error is recorded and the others go on (:meth:`Store.sync_many`).

    Errors of the store itself (:class:`~runtrack.store.StoreError`: disk full, locked) and ``KeyboardInterrupt``
    propagate: the next listing would meet them too.
    """
    from .store import SyncJob
    from .store.sync import listing_key

    adapters: list[Adapter] = []
    jobs: list[SyncJob] = []
    failed: list[ListingSync] = []
    try:
        for spec in specs:
            try:
                adapter = connect_source(spec, environ)
            except Exception as exc:
                if debug:
                    log.exception("connecting source %r failed", spec.name)
                failed += [ListingSync(source=spec.name, scope=s, error=describe_failure(exc)) for s in spec.scopes]
                continue
            adapters.append(adapter)
            jobs += [
                SyncJob(adapter=adapter, source=spec.name, scope=s, page_size=spec.page_size, max_items=spec.max_items)
                for s in spec.scopes
            ]
        yield from failed
        for job, outcome in store.sync_many(jobs, workers=workers, full=full, progress=progress, clock=clock):
            if not isinstance(outcome, Exception):
                yield ListingSync(source=job.source, scope=job.scope, result=outcome)
                continue
            if debug:
                log.error("syncing %s failed", job.label, exc_info=outcome)
            records = store.syncs(source=job.source, limit=1)  # the failed pass was recorded before the error
            key = listing_key(job.adapter, job.source, job.scope)
            record = records[0] if records and records[0].listing == key else None
            yield ListingSync(source=job.source, scope=job.scope, error=describe_failure(outcome), record=record)
    finally:
        for adapter in adapters:
            adapter.close()
