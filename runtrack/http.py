"""The HTTP transport every adapter uses: one place for sessions, auth, timeouts, retries and error mapping.

* One :class:`Transport` per adapter instance. It keeps one ``requests.Session`` per thread, so an adapter may be
  used from several threads at once (fan-out workers do).
* Base URLs keep their path prefix: ``https://host/ls`` + ``api/ml`` is ``https://host/ls/api/ml``.
* Exactly one retry owner: 429, 502, 503, 504 and connection errors, with ``Retry-After`` (seconds or an HTTP
  date) capped at ``retry_after_cap``, otherwise jittered exponential backoff, at most ``max_retries`` retries.
  Requests are retried only when idempotent: by their method (GET, HEAD, OPTIONS, PUT, DELETE) or marked so.
* Exactly one owner of waiting: every send takes a slot from the instance's :class:`~runtrack.ratelimit.RateLimiter`
  (``rate_limit`` requests per second, shared by all threads), and a retry's delay is the wait for that slot, so
  backoff, ``Retry-After`` and the rate limit never add up. A ``Retry-After`` pauses every thread.
  ``transport.congestion`` hears of each 429 and success, for listings that size their in-flight window by it.
* Errors become the typed hierarchy of :mod:`runtrack.errors`, with status, vendor code, request id and a short,
  redacted body excerpt. Secrets known to the transport never appear in messages or logs.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin, urlsplit

import attrs

from . import _version
from ._deadline import deadline_adapter, watch
from ._redact import redact, register_secret
from .errors import (
    AuthenticationError,
    ConfigurationError,
    NetworkError,
    NotFoundError,
    PayloadError,
    RateLimitError,
    RequestError,
    RuntrackError,
    ServerError,
)
from .ratelimit import Congestion, RateLimiter

if TYPE_CHECKING:  # requests is imported on the first request, so connect() stays cheap
    import requests

__all__ = [
    "Auth",
    "ErrorInfo",
    "HeaderAuth",
    "RefreshingAuth",
    "Request",
    "Secret",
    "Transport",
    "join_url",
]

log = logging.getLogger("runtrack.http")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
DEFAULT_TIMEOUT = (3.05, 60.0)
#: seconds one request (one attempt) may take in all, however slowly the answer trickles in
DEFAULT_DEADLINE = 300.0
EXCERPT_CHARS = 300
READ_CHUNK = 1 << 20  # bytes per read of a response body


def _upper(method: str) -> str:
    return method.upper()


#: Methods whose repetition is harmless by definition (RFC 9110 section 9.2.2): retried unless marked otherwise.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@attrs.frozen(kw_only=True)
class Request:
    """A request to make; ``path`` is relative to the transport's base URL, or an absolute URL (next links).

    ``idempotent`` says whether sending it twice is harmless, which is what lets the transport retry it. Left
    None it follows the method: GET, HEAD, OPTIONS, PUT and DELETE are, POST and PATCH are not (mark a POST
    that only reads, such as a query, ``idempotent=True``).
    """

    method: str = attrs.field(default="GET", converter=_upper)
    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    json: Any = None
    idempotent: bool | None = None

    @property
    def retry_safe(self) -> bool:
        """Whether the transport may send this request again (the explicit mark, else the method's rule)."""
        return self.method in IDEMPOTENT_METHODS if self.idempotent is None else self.idempotent

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items() if v is not None)
        return f"{self.method} {self.path}{'?' + query if query else ''}"


def sleep_for(seconds: float) -> None:
    """How transports wait between retries (a module function, so tests can replace it)."""
    time.sleep(seconds)


class Secret:
    """A string that does not show itself: ``repr`` and ``str`` print ``***``; :meth:`reveal` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def join_url(base_url: str, path: str) -> str:
    """Join ``path`` to ``base_url`` keeping the base's path prefix; absolute URLs are returned as they are."""
    if path.startswith(("http://", "https://")):
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url`` (default ports made explicit, host in lower case): where a credential
    may go. A URL with an unreadable port has an origin of its own, equal to no other."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        return f"invalid:{url}"
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


class Auth(Protocol):
    """Adds credentials to a request; may refresh them once when the server answers 401."""

    def headers(self) -> Mapping[str, str]: ...

    def refresh(self) -> bool:
        """Called after a 401; return True if new credentials are worth one more try."""
        ...

    def secrets(self) -> Iterable[str]:
        """Every secret value this auth may send, for redaction."""
        ...


class HeaderAuth:
    """Static headers, e.g. ``{"X-API-Key": Secret(key)}`` or ``{"Authorization": "Token " + key}``."""

    def __init__(self, headers: Mapping[str, str | Secret], *, secret_values: Iterable[str | Secret] = ()) -> None:
        self._headers = {k: v.reveal() if isinstance(v, Secret) else v for k, v in headers.items()}
        self._secrets = [s.reveal() if isinstance(s, Secret) else s for s in secret_values]
        self._secrets += [v.reveal() for v in headers.values() if isinstance(v, Secret)]
        for secret in self._secrets:
            register_secret(secret)

    def headers(self) -> Mapping[str, str]:
        return self._headers

    def refresh(self) -> bool:
        return False

    def secrets(self) -> Iterable[str]:
        return self._secrets

    def __repr__(self) -> str:
        return f"HeaderAuth({sorted(self._headers)})"


class RefreshingAuth:
    """A short-lived access token obtained from ``obtain() -> (token, expires_at)``, cached until ``leeway``
    seconds before it expires and refreshed under a lock (one refresh for many threads)."""

    def __init__(
        self,
        obtain: Callable[[], tuple[str, float]],
        *,
        header: str = "Authorization",
        scheme: str = "Bearer",
        leeway: float = 30.0,
        secret_values: Iterable[str | Secret] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._obtain = obtain
        self._header = header
        self._scheme = scheme
        self._leeway = leeway
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._static_secrets = [s.reveal() if isinstance(s, Secret) else s for s in secret_values]
        for secret in self._static_secrets:
            register_secret(secret)
        # Every token handed out stays redacted (an old one may still echo back in a late error body).
        self._issued: collections.deque[str] = collections.deque(maxlen=16)

    def _valid(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - self._leeway

    def headers(self) -> Mapping[str, str]:
        if not self._valid():
            with self._lock:
                if not self._valid():
                    self._token, self._expires_at = self._obtain()
                    self._issued.append(self._token)
                    register_secret(self._token)
        return {self._header: f"{self._scheme} {self._token}"}

    def refresh(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def secrets(self) -> Iterable[str]:
        return [*self._static_secrets, *self._issued]

    def __repr__(self) -> str:
        return f"RefreshingAuth(header={self._header!r}, cached={self._token is not None})"


@attrs.frozen(kw_only=True)
class ErrorInfo:
    """What an adapter reads out of a vendor error body."""

    message: str | None = None
    vendor_code: str | None = None
    error_class: type[RuntrackError] | None = None  # overrides the status-based class
    retry: bool | None = None  # overrides the status-based retry decision


def _status_class(status: int) -> type[RuntrackError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return RequestError


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import email.utils  # only a Retry-After that is an HTTP date needs it

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now())


#: threads a transport may use to receive pages at once, for all its listings together (a fan-out of 16 listings
#: with 4 pages in flight each needs 64)
FETCH_THREADS = 64


class Transport:
    """Sends requests for one adapter instance. Safe to share between threads (one session per thread).

    ``describe_error(response)`` lets the adapter read its vendor's error envelope. ``rate_limit`` is requests per
    second for the whole instance (None: no limit). ``sleep``, ``clock`` and ``rng`` are injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        platform: str,
        auth: Auth | None = None,
        timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT,
        max_retries: int = 4,
        backoff: float = 0.5,
        backoff_max: float = 20.0,
        retry_after_cap: float = 60.0,
        describe_error: Callable[[requests.Response], ErrorInfo] | None = None,
        headers: Mapping[str, str] | None = None,
        user_agent: str | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: Callable[[], float] = random.random,
        pool_size: int = 10,
        deadline: float | None = DEFAULT_DEADLINE,
        verify: bool | str = True,
        rate_limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(base_url)
        if "@" in parts.netloc:
            raise ValueError("base_url must not contain credentials (user:password@host)")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.host = parts.netloc.lower()
        #: the only origin this transport sends requests (and so credentials) to
        self.origin = origin(self.base_url)
        self.platform = platform
        self.auth = auth
        self.timeout = timeout
        #: seconds one request (one attempt) may take in all, trickling body included; None: no limit
        self.deadline = deadline
        #: TLS verification: True, False, or the path of a CA bundle
        self.verify = verify
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.retry_after_cap = retry_after_cap
        self.describe_error = describe_error
        self._sleep = sleep or (lambda seconds: sleep_for(seconds))
        self._rng = rng
        self._pool_size = pool_size
        self._user_agent = user_agent
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._fetchers: concurrent.futures.ThreadPoolExecutor | None = None
        #: paces every request of this instance (all threads); also where retries wait
        self.limiter = RateLimiter(rate_limit, rate_burst(rate_limit), clock=clock, sleep=self._sleep)
        #: told about each 429 and each success; listings read ``congestion.limit(window)``
        self.congestion = Congestion()

    def __repr__(self) -> str:
        return f"<Transport {self.platform} {self.base_url}>"

    # -- sessions

    @property
    def session(self) -> requests.Session:
        """This thread's session (connection pool)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            adapter = deadline_adapter(self._pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = self._user_agent or (
                f"runtrack/{_version.__version__} ({self.platform}) python-requests/{requests.__version__}"
            )
            session.headers.update(self._headers)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def fetchers(self) -> concurrent.futures.ThreadPoolExecutor:
        """The threads that receive pages for every listing of this transport (a listing's window submits its
        requests here). They outlive each listing, so each keeps its session and its connections (TLS included)
        for the next listing: a fan-out over 20 queues opened a thread, a session and a connection per page in
        flight of every queue. Threads start only when every one is busy, up to :data:`FETCH_THREADS`."""
        with self._sessions_lock:
            if self._fetchers is None:
                self._fetchers = concurrent.futures.ThreadPoolExecutor(
                    FETCH_THREADS, thread_name_prefix="runtrack-pages"
                )
            return self._fetchers

    def close(self) -> None:
        with self._sessions_lock:
            fetchers, self._fetchers = self._fetchers, None
        if fetchers is not None:  # its threads end once the requests already given to them are answered
            fetchers.shutdown(wait=False)
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    # -- redaction

    def secrets(self) -> list[str]:
        return [s for s in (self.auth.secrets() if self.auth else ()) if s and len(s) >= 4]

    def redact(self, text: str) -> str:
        """``text`` without any secret of this transport or of the process, whole or in pieces of 8+ chars."""
        return redact(text, self.secrets())

    # -- requests

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.json(Request(path=path, params=params or {}))

    def json(self, request: Request) -> Any:
        """Send ``request`` and decode its JSON body (an empty body is None).

        A 2xx body that starts like JSON but does not parse was cut off on the way (a proxy, a dropped transfer):
        like a dropped connection, it is fetched again when the request is safe to repeat, within the same
        ``max_retries`` budget. Any other body that is not JSON (an HTML page) fails at once.
        """
        return self.json_of(request, self.receive(request))

    def receive(self, request: Request) -> tuple[requests.Response, int]:
        """The first half of :meth:`json`: send ``request`` (with retries) and return the response, its body not
        decoded yet, and the retries spent. A listing's worker threads receive its pages and the consumer decodes
        them in order (:class:`~runtrack.paginate.window.Window`), so the page it waits for is never queued behind
        the decoding of the pages after it."""
        return self._send(request, None, 0)

    def json_of(self, request: Request, received: tuple[requests.Response, int]) -> Any:
        """The second half of :meth:`json`: the decoded body of what :meth:`receive` returned (sent again when
        it was cut off, as :meth:`json` says)."""
        response, attempt = received
        while True:
            try:
                return self.decode(response, request)
            except PayloadError as exc:
                if not (request.retry_safe and attempt < self.max_retries and _starts_like_json(response.content)):
                    if attempt:
                        exc.message += f" (after {attempt} retries)"
                    raise
            attempt += 1
            delay = self._backoff(attempt)
            log.warning(
                "%s %s: truncated JSON body; retry %d/%d in %.2fs",
                self.platform,
                request.describe(),
                attempt,
                self.max_retries,
                delay,
            )
            response, attempt = self._send(request, None, attempt, delay)

    def decode(self, response: requests.Response, request: Request) -> Any:
        content = response.content
        if not content:
            return None
        if _orjson_loads is not None and (response.encoding or "utf-8").lower() in _UTF8:
            value = _fast_loads(content)
            if value is not _SLOW:
                return value
        try:
            return json.loads(_text(response, content))
        except (RecursionError, ValueError) as exc:
            problem = (
                "the response is nested too deeply to read"
                if isinstance(exc, RecursionError)
                else f"response is not valid JSON ({exc}); starts with {self.redact(_excerpt(response.text))!r}"
            )
            raise PayloadError(
                f"{request.describe()}: {problem}",
                platform=self.platform,
                status_code=response.status_code,
                path="$",
                request_id=_request_id(response),
            ) from None

    def send(self, request: Request, *, headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send with retries; return a 2xx response or raise the typed error."""
        return self._send(request, headers, 0)[0]

    def _send(
        self, request: Request, headers: Mapping[str, str] | None, attempt: int, delay: float | None = None
    ) -> tuple[requests.Response, int]:
        """:meth:`send` after ``attempt`` retries already spent, waiting ``delay`` (a retry's) first; returns the
        response and the retries spent."""
        import requests

        url = join_url(self.base_url, request.path)
        retryable = request.retry_safe
        refreshed = False
        shared = False  # the wait is the vendor's word to the whole client (Retry-After)
        while True:
            self.limiter.acquire(delay, shared=shared)  # the one place a send waits
            delay, shared = None, False
            epoch = self.congestion.epoch
            try:
                response = self._send_once(request, url, headers)
            except requests.RequestException as exc:
                if retryable and attempt < self.max_retries and _is_transient(exc):
                    attempt += 1
                    delay = self._backoff(attempt)
                    log.warning(
                        "%s %s: %s; retry %d/%d in %.2fs",
                        self.platform,
                        request.describe(),
                        type(exc).__name__,
                        attempt,
                        self.max_retries,
                        delay,
                    )
                    continue
                raise NetworkError(
                    f"{request.describe()}: {type(exc).__name__}: {self.redact(_exc_text(exc))}"
                    + (f" (after {attempt} retries)" if attempt else ""),
                    platform=self.platform,
                ) from None
            status = response.status_code
            if status < 400:
                self.congestion.succeeded()
                return response, attempt
            if status == 429:
                self.congestion.throttled(epoch)
            if status == 401 and not refreshed and self.auth is not None and self.auth.refresh():
                refreshed = True
                continue
            info = self._describe(response)
            should_retry = info.retry if info.retry is not None else status in RETRY_STATUSES
            if should_retry and retryable and attempt < self.max_retries:
                attempt += 1
                delay = self._retry_delay(response, attempt)
                shared = "Retry-After" in response.headers  # the vendor told the client, not this request
                log.warning(
                    "%s %s: HTTP %d; retry %d/%d in %.2fs",
                    self.platform,
                    request.describe(),
                    status,
                    attempt,
                    self.max_retries,
                    delay,
                )
                continue
            raise self._error(request, response, info, attempt)

    def _send_once(self, request: Request, url: str, headers: Mapping[str, str] | None) -> requests.Response:
        """One request with its same-origin redirects. Credentials go to the configured origin only: a URL or a
        redirect to another origin is refused before anything is sent there (requests would strip
        ``Authorization`` on such a redirect, but not custom headers like ``X-API-Key``)."""
        method, params, body = request.method, request.params, request.json
        for _ in range(MAX_REDIRECTS + 1):
            self._check_origin(request, url)
            response = self._request(method, url, params, body, headers)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            url = urljoin(response.url or url, location)
            params = {}  # the Location carries its own query
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, body = "GET", None
        raise RequestError(f"{request.describe()}: more than {MAX_REDIRECTS} redirects", platform=self.platform)

    def _check_origin(self, request: Request, url: str) -> None:
        target = origin(url)
        if "@" in urlsplit(url).netloc:  # requests would send a URL's user:password as Basic auth
            target = "a URL with credentials in it"
        if target != self.origin:
            shown = target if not target.startswith("invalid:") else "an invalid URL"
            raise RequestError(
                f"{request.describe()}: refused to send a request to {shown}: runtrack sends credentials to the "
                f"configured origin {self.origin} only (a redirect or link to another host, scheme or port). "
                "If the service moved, set base_url to its new address.",
                platform=self.platform,
            )

    def _request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any],
        body: Any,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        merged = dict(self.auth.headers()) if self.auth else {}
        if headers:
            merged.update(headers)
        _check_header_values(merged, self.platform)
        import requests

        timer = watch(self.deadline) if self.deadline else None
        try:
            response = self.session.request(
                method,
                url,
                params={k: v for k, v in params.items() if v is not None} or None,
                json=body,
                headers=merged,
                auth=_headers_as_given,  # else requests puts a ~/.netrc login for the host over our Authorization
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
                verify=self.verify,  # per request: requests lets REQUESTS_CA_BUNDLE override a session's verify
            )
            try:
                # What ``response.content`` does, in reads of up to READ_CHUNK instead of requests' 10 KiB: reading
                # a 550 KB page takes ~30% less time (bench/, LangSmith). Read errors are requests' exceptions.
                response._content = b"".join(response.iter_content(READ_CHUNK))
            except BaseException:
                response.close()
                raise
        except requests.RequestException:
            if timer is not None and timer.expired:
                raise requests.Timeout(f"no complete answer within the deadline of {self.deadline:g}s") from None
            raise
        finally:
            if timer is not None:
                timer.cancel()
        return response

    def _backoff(self, attempt: int) -> float:
        # Bounded jitter: between half and all of the exponential step (Stripe's choice).
        step = min(self.backoff_max, self.backoff * (2.0 ** (attempt - 1)))
        return step * (0.5 + self._rng() / 2)

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            return self._backoff(attempt)
        if retry_after > self.retry_after_cap:  # say so: a silent long sleep looks like a hang
            log.warning(
                "%s asked to wait %.0fs (Retry-After); waiting the cap of %.0fs",
                self.platform,
                retry_after,
                self.retry_after_cap,
            )
        return min(retry_after, self.retry_after_cap)

    def _describe(self, response: requests.Response) -> ErrorInfo:
        if self.describe_error is not None:
            try:
                return self.describe_error(response)
            except Exception:  # an odd error body must never hide the HTTP error itself
                log.debug("describe_error failed", exc_info=True)
        return ErrorInfo(message=default_error_message(response))

    def _error(self, request: Request, response: requests.Response, info: ErrorInfo, attempts: int) -> RuntrackError:
        status = response.status_code
        cls = info.error_class or _status_class(status)
        message = _excerpt(self.redact(info.message)) if info.message else default_error_message(response)
        text = f"{request.describe()}: HTTP {status}"
        if info.vendor_code:
            text += f" {info.vendor_code}"
        text += f": {message}"
        if attempts:
            text += f" (after {attempts} retries)"
        kwargs: dict[str, Any] = {
            "platform": self.platform,
            "status_code": status,
            "vendor_code": info.vendor_code,
            "request_id": _request_id(response),
        }
        if cls is RateLimitError:
            kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
        return cls(self.redact(text), **kwargs)


_orjson_loads: Callable[[bytes], Any] | None
try:  # optional: about 2x faster than the stdlib on vendor pages (see docs/benchmarks.md)
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _orjson_loads = None

_UTF8 = frozenset({"utf-8", "utf8"})
_SLOW = object()
# orjson reads integers beyond 64 bits as floats: a body with 19+ digits in a row goes to the stdlib parser.
_DIGITS = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))
_LONG_DIGIT_RUN = b"1" * 19
_NUMBER_STARTS = frozenset(b":,[ \t\r\n-")


def _may_hold_big_int(content: bytes) -> bool:
    """Whether ``content`` may hold a number of 19 digits or more. A run of digits inside a string (a hex id such as
    ``"d24cc9b8773506171615975596df541f"``) does not count: a number starts after ``:``, ``,``, ``[``, white space
    or ``-`` (a string that happens to look so only costs the slow path)."""
    digits = content.translate(_DIGITS)
    i = digits.find(_LONG_DIGIT_RUN)
    while i != -1:
        start = i
        while start and digits[start - 1] == 0x31:
            start -= 1
        if start == 0 or content[start - 1] in _NUMBER_STARTS:
            return True
        end = digits.find(b"0", i)
        if end == -1:
            return False
        i = digits.find(_LONG_DIGIT_RUN, end)
    return False


def _fast_loads(content: bytes) -> Any:
    """``orjson.loads(content)``, or ``_SLOW`` when the stdlib must decide (possible big integers, NaN,
    lone surrogates, invalid UTF-8): the result is always what ``json.loads`` would give."""
    if _may_hold_big_int(content):
        return _SLOW
    try:
        return _orjson_loads(content)  # type: ignore[misc]
    except ValueError:
        return _SLOW


def _text(response: requests.Response, content: bytes) -> str:
    """The body as text. Bytes that are not valid in its encoding become lone surrogates (``surrogateescape``)
    rather than U+FFFD: two ids that differ only in invalid bytes stay two ids (requests would replace both)."""
    import requests.utils

    encoding = response.encoding or requests.utils.guess_json_utf(content) or "utf-8"  # type: ignore[no-untyped-call]
    try:
        return content.decode(encoding, errors="surrogateescape")
    except LookupError:  # an unknown charset
        return content.decode("utf-8", errors="surrogateescape")


def default_error_message(response: requests.Response) -> str:
    """A short description of an error body: a JSON ``detail``/``message``, else a trimmed text excerpt."""
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            for key in ("detail", "message", "error", "errorName"):
                if isinstance(body.get(key), str):
                    return _excerpt(body[key])
    if "html" in content_type or response.text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        return f"{response.reason or 'error'} (HTML page of {len(response.content)} bytes)"
    return _excerpt(response.text) or (response.reason or "no body")


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``text``, whitespace collapsed, secrets redacted before the cut (and again
    after it: a secret cut at the end still shows no piece of 8+ characters)."""
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else redact(text[: limit - 1]) + "…"


_BAD_HEADER_VALUE = re.compile(r"^\s|[\r\n\x00]")


def _headers_as_given(request: Any) -> Any:
    """``auth=`` for every request: the credential headers stay the ones the transport set. With no ``auth``,
    requests looks the host up in ``~/.netrc`` (or ``$NETRC``) and replaces ``Authorization`` with that login."""
    return request


def _check_header_values(headers: Mapping[str, str], platform: str) -> None:
    """requests refuses such values with a message that shows them: say which header, never its value."""
    for name, value in headers.items():
        if isinstance(value, str) and _BAD_HEADER_VALUE.search(value):
            raise ConfigurationError(
                f"the value of the {name} header has a line break, NUL or leading whitespace (not shown): "
                "check the key or token it is made from",
                platform=platform,
            )


def _request_id(response: requests.Response) -> str | None:
    for name in ("X-Request-Id", "X-Request-ID", "Request-Id", "X-Amzn-RequestId", "X-Correlation-Id"):
        value = response.headers.get(name)
        if value:
            return value
    return None


def rate_burst(per_second: float | None) -> int:
    """Requests that may go at once after a quiet spell: a quarter second's worth (at least 1)."""
    return 1 if per_second is None or math.isinf(per_second) else max(1, math.ceil(per_second / 4))


def _starts_like_json(content: bytes) -> bool:
    """An object or array that did not parse: cut off, not some other kind of page."""
    return content.lstrip()[:1] in (b"{", b"[")


def _is_transient(exc: requests.RequestException) -> bool:
    import requests

    return isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError))


def _exc_text(exc: BaseException) -> str:
    """The root cause of a requests/urllib3 error, without pool and object reprs."""
    reason: BaseException = exc
    for _ in range(6):
        inner = getattr(reason, "reason", None)
        if not isinstance(inner, BaseException) and reason.args and isinstance(reason.args[0], BaseException):
            inner = reason.args[0]
        if not isinstance(inner, BaseException) or inner is reason:
            break
        reason = inner
    text = _OBJECT_REPR.sub("", str(reason))
    return _excerpt(text, 200)


_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
