"""Deterministic, counted fault injection shared by every fake server."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Literal

RetryAfter = int | float | Literal["http-date"] | None
#: A path segment with a digit in it is an id (queue UUID, prompt number, studio RID): endpoints are counted without.
_ID_SEGMENT = re.compile(r"/[^/]*\d[^/]*")

_KNOBS = (
    "latency",
    "rate_limit_every",
    "retry_after",
    "server_errors",
    "reset_every",
    "truncate_every",
    "truncate_mode",
    "repeat_token",
    "offset_drift",
    "html_errors",
    "path_prefix",
)


@dataclass(frozen=True)
class ServerErrors:
    """5xx answers: a burst of ``count`` requests from request number ``start``, and/or every ``every``-th.

    ``statuses`` cycle over the injected errors (``(502, 503)`` alternates them).
    """

    start: int | None = None
    count: int = 1
    every: int | None = None
    statuses: tuple[int, ...] = (503,)

    def hits(self, n: int) -> bool:
        """Whether request number ``n`` (1-based) gets a server error."""
        in_burst = self.start is not None and self.start <= n < self.start + self.count
        return in_burst or (self.every is not None and self.every > 0 and n % self.every == 0)


@dataclass(frozen=True)
class Injected:
    """One fault that was injected: request number (as counted by the knobs, per method and path), kind, method
    and path."""

    n: int
    kind: str
    method: str
    path: str


@dataclass(frozen=True)
class Decision:
    """What the server must do with one request (computed under the lock)."""

    n: int
    latency: float = 0.0
    reset: bool = False
    status: int | None = None
    retry_after: RetryAfter = None
    truncate: Literal["json", "connection"] | None = None
    html_errors: bool = False


@dataclass
class Faults:
    """Mutable, thread-safe fault knobs of one fake server.

    Every request whose path starts with ``path_prefix`` (all requests when None) is counted,
    1-based, since the last :meth:`configure`/:meth:`clear`, **per endpoint** (method and path with
    its id segments left out: every queue's ``/runs`` is one endpoint): the requests of one endpoint
    are numbered on their own, so requests to another endpoint that overlap in time (the next page
    fetched while this one is hydrated) never move which request a knob hits. A knob ``x_every=k``
    fires on the requests whose number is a multiple of ``k``; ``ServerErrors.statuses`` cycle per
    endpoint too. ``count`` is the total over all endpoints. Precedence on one request:
    reset > server error > rate limit; truncation applies only to a normal 200 answer with a body.
    ``repeat_token`` and ``offset_drift`` are read by the vendor handlers (Foundry, LangSmith).
    """

    latency: float = 0.0
    rate_limit_every: int | None = None
    retry_after: RetryAfter = None
    server_errors: ServerErrors | None = None
    reset_every: int | None = None
    truncate_every: int | None = None
    truncate_mode: Literal["json", "connection"] = "json"
    repeat_token: int | None = None
    offset_drift: int = 0
    html_errors: bool = False
    path_prefix: str | None = None
    count: int = field(default=0, init=False)
    injected: list[Injected] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _token_pages: int = field(default=0, init=False, repr=False)
    _per_endpoint: dict[tuple[str, str], list[int]] = field(default_factory=dict, init=False, repr=False)

    def configure(self, **knobs: object) -> Faults:
        """Set knobs atomically and restart the counters (unset knobs keep their values)."""
        unknown = set(knobs) - set(_KNOBS)
        if unknown:
            raise TypeError(f"unknown fault knob(s): {', '.join(sorted(unknown))}")
        with self._lock:
            for name, value in knobs.items():
                setattr(self, name, value)
            self._restart()
        return self

    def clear(self) -> Faults:
        """Turn every fault off and restart the counters."""
        defaults = Faults()
        with self._lock:
            for name in _KNOBS:
                setattr(self, name, getattr(defaults, name))
            self._restart()
        return self

    def _restart(self) -> None:
        self.count = 0
        self._token_pages = 0
        self._per_endpoint.clear()
        self.injected.clear()

    def injected_kinds(self) -> list[str]:
        """Kinds of the injected faults, in order (``rate_limit``, ``server_error``, ``reset`` ...)."""
        with self._lock:
            return [i.kind for i in self.injected]

    def decide(self, method: str, path: str) -> Decision | None:
        """Count one request and decide its faults; None when the request is not counted."""
        with self._lock:
            if self.path_prefix is not None and not path.startswith(self.path_prefix):
                return None
            self.count += 1
            endpoint = self._per_endpoint.setdefault((method, _ID_SEGMENT.sub("/{}", path)), [0, 0])
            endpoint[0] = n = endpoint[0] + 1
            kind: str | None = None
            status: int | None = None
            if self.reset_every and n % self.reset_every == 0:
                kind = "reset"
            elif self.server_errors is not None and self.server_errors.hits(n):
                kind = "server_error"
                errs = self.server_errors
                status = errs.statuses[endpoint[1] % len(errs.statuses)] if errs.statuses else 503
                endpoint[1] += 1
            elif self.rate_limit_every and n % self.rate_limit_every == 0:
                kind, status = "rate_limit", 429
            truncate = None
            if kind is None and self.truncate_every and n % self.truncate_every == 0:
                truncate = self.truncate_mode
            if kind is not None:
                self.injected.append(Injected(n, kind, method, path))
            return Decision(
                n=n,
                latency=self.latency,
                reset=kind == "reset",
                status=status,
                retry_after=self.retry_after,
                truncate=truncate,
                html_errors=self.html_errors,
            )

    def note(self, n: int, kind: str, method: str, path: str) -> None:
        """Record a fault a vendor handler injected (truncation, repeated token, drift)."""
        with self._lock:
            self.injected.append(Injected(n, kind, method, path))

    def next_token_repeats(self) -> bool:
        """Count one paged answer to a request that carried a page token; True on every k-th."""
        with self._lock:
            if not self.repeat_token:
                return False
            self._token_pages += 1
            return self._token_pages % self.repeat_token == 0
