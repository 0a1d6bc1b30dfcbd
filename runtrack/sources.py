"""Reading configured sources: connect each through the adapter registry, list every scope, and keep going when one
source fails (the failure, with its resume cursor, is recorded in its :class:`~runtrack.report.SourceResult`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone

from .adapter import Adapter
from .config import SourceSpec
from .errors import RuntrackError
from .plugins import connect
from .progress import Progress
from .report import Collector, ReportSettings, SourceResult, scope_label

__all__ = ["connect_source", "describe_failure", "read_source", "read_sources"]

log = logging.getLogger("runtrack.sources")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def connect_source(spec: SourceSpec, environ: Mapping[str, str] | None = None) -> Adapter:
    """``runtrack.connect(spec.adapter, ...)`` with the source's options and secrets from the environment."""
    return connect(spec.adapter, **spec.connect_options(environ))


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
