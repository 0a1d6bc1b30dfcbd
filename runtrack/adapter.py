"""The :class:`Adapter` base class that every platform adapter (built-in or third-party) implements.

An adapter declares its options (with the environment variables users already have set for the vendor SDK),
builds its :class:`~runtrack.http.Transport`, and returns a :class:`~runtrack.paginate.Listing` from
:meth:`Adapter.listing`; the base class turns that into the public, lazy :meth:`Adapter.runs`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from .errors import ConfigurationError
from .http import ErrorInfo, Secret, Transport
from .model import Run
from .paginate import Listing, RunIterator

if TYPE_CHECKING:
    import requests

__all__ = ["MAX_CONCURRENCY", "Adapter", "Option", "common_options", "concurrency_option", "rate_limit_option"]

#: Upper bound of the ``concurrency`` option: more workers only add load on the vendor's rate limits.
MAX_CONCURRENCY = 16


@attrs.frozen(kw_only=True)
class Option:
    """One ``connect()`` option: where it may come from and how it is checked."""

    name: str
    env: tuple[str, ...] = ()
    required: bool = False
    secret: bool = False
    default: Any = None
    help: str = ""
    parse: Callable[[Any], Any] | None = None


def _positive_float(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be > 0")
    return number


def _timeout(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        connect, read = value
        return (_positive_float(connect), _positive_float(read))
    return _positive_float(value)


def _non_negative_int(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be >= 0")
    return number


def _base_url(value: Any) -> str:
    text = str(value).strip()
    if "://" not in text:
        text = "https://" + text
    if not text.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return text.rstrip("/")


def parse_concurrency(value: Any) -> int:
    number = int(value)
    if not 1 <= number <= MAX_CONCURRENCY:
        raise ValueError(f"must be between 1 and {MAX_CONCURRENCY}")
    return number


def concurrency_option(containers: str) -> Option:
    """The ``concurrency`` option of an adapter whose ``runs()`` fans out over ``containers`` (a plural noun)."""
    return Option(
        name="concurrency",
        default=1,
        parse=parse_concurrency,
        help=f"{containers} listed at once when runs() fans out, 1 to {MAX_CONCURRENCY}; pages still come in order",
    )


def parse_rate_limit(value: Any) -> float | None:
    """Requests per second > 0; ``0``, ``"none"`` or ``"off"`` turn the limit off."""
    if isinstance(value, str) and value.strip().lower() in ("none", "off", "0"):
        return None
    number = float(value)
    if number != number or number < 0:
        raise ValueError("must be requests per second >= 0 (0 or 'off': no limit)")
    return number or None


def rate_limit_option(default: float, why: str) -> Option:
    """The ``rate_limit`` option: requests per second for the whole adapter instance (every thread), ``default``
    chosen from the vendor's published limits (``why``)."""
    return Option(
        name="rate_limit",
        default=default,
        parse=parse_rate_limit,
        help=f"requests per second for this instance, all threads together (default {default:g}: {why}); 0: none",
    )


def common_options(
    *, base_url_env: tuple[str, ...], api_key_env: tuple[str, ...], default_base_url: str | None = None
) -> tuple[Option, ...]:
    """The options every adapter has: ``base_url``, ``api_key``, ``timeout``, ``max_retries``."""
    return (
        Option(
            name="base_url",
            env=base_url_env,
            required=default_base_url is None,
            default=default_base_url,
            parse=_base_url,
            help="the platform's URL (a bare host means https://HOST)",
        ),
        Option(name="api_key", env=api_key_env, required=True, secret=True, help="API key or token"),
        Option(name="timeout", default=(3.05, 60.0), parse=_timeout, help="seconds, or (connect, read)"),
        Option(name="max_retries", default=4, parse=_non_negative_int, help="retries of 429/5xx/connection errors"),
    )


class Adapter:
    """Base class of platform adapters.

    Subclasses set ``name`` (the registry name), ``options`` and ``kind``, and implement :meth:`listing`.
    Options are resolved at construction: explicit value, then environment variables, then the default; a
    missing required option is a :class:`ConfigurationError` naming the option and its environment variables.
    """

    name: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()
    #: what the runs of :meth:`runs` are (part of every run's uid)
    kind: ClassVar[str] = "run"

    def __init__(self, *, environ: Mapping[str, str] | None = None, **options: Any) -> None:
        self.config: dict[str, Any] = resolve_options(self.name, self.options, options, environ)
        self.transport = self.make_transport()
        self.instance = self.transport.host

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.config.get('base_url', '')}>"

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools."""
        self.transport.close()

    @property
    def api_key(self) -> str:
        secret = self.config.get("api_key")
        return secret.reveal() if isinstance(secret, Secret) else str(secret or "")

    # -- what subclasses provide

    def make_transport(self) -> Transport:
        """The transport; subclasses override :meth:`make_auth` and :meth:`describe_error` rather than this."""
        return Transport(
            self.config["base_url"],
            platform=self.name,
            auth=self.make_auth(),
            timeout=self.config.get("timeout"),
            max_retries=self.config.get("max_retries", 4),
            describe_error=self.describe_error,
            rate_limit=self.config.get("rate_limit"),
        )

    def make_auth(self) -> Any:
        return None

    def describe_error(self, response: requests.Response) -> ErrorInfo:
        """Read the vendor's error envelope; the default finds ``detail``/``message``."""
        from .http import default_error_message

        return ErrorInfo(message=default_error_message(response))

    def listing(self, *, page_size: int | None = None, **scope: Any) -> Listing[Run]:
        """The listing of runs for ``scope``; no I/O may happen here."""
        raise NotImplementedError

    # -- the public listing interface

    def runs(
        self,
        *,
        max_items: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        **scope: Any,
    ) -> RunIterator[Run]:
        """A lazy, single-pass iterator of :class:`~runtrack.Run` for ``scope``. Nothing is fetched until it is
        iterated. ``cursor`` resumes right after the page it came from (``page.next_cursor`` or an error's
        ``cursor``)."""
        if page_size is not None and page_size < 1:
            raise ConfigurationError(f"page_size must be >= 1, got {page_size}", platform=self.name)
        self.check_scope(scope)
        listing = self.listing(page_size=page_size, **scope)
        return RunIterator(listing, name=self.listing_name(scope), cursor=cursor, max_items=max_items)

    def check_scope(self, scope: Mapping[str, Any]) -> None:
        """Refuse scope keywords :meth:`listing` does not take, naming the ones it does."""
        params = inspect.signature(self.listing).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        valid = sorted(n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY and n != "page_size")
        unknown = sorted(set(scope) - set(valid))
        if unknown:
            raise ConfigurationError(
                f"unknown scope keyword(s) {', '.join(unknown)} for {self.name} runs(); "
                f"valid: {', '.join(valid) or 'none'}",
                platform=self.name,
            )

    def listing_name(self, scope: Mapping[str, Any]) -> str:
        """Identifies a listing inside its cursors, so a cursor cannot resume a different listing."""
        parts = [f"{k}={v}" for k, v in sorted(scope.items()) if v is not None]
        return f"{self.name}:{self.instance}:{self.kind}:" + ",".join(parts)


def resolve_options(
    adapter: str,
    declared: tuple[Option, ...],
    given: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Resolve option values: explicit, then environment, then default; check and parse them."""
    env = os.environ if environ is None else environ
    known = {opt.name: opt for opt in declared}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {', '.join(unknown)} for adapter {adapter!r}; valid: {', '.join(sorted(known))}",
            platform=adapter,
        )
    resolved: dict[str, Any] = {}
    for opt in declared:
        value = given.get(opt.name)
        source = f"option {opt.name!r}"
        if value is None:
            for var in opt.env:
                if env.get(var):
                    value, source = env[var], f"environment variable {var}"
                    break
        if value is None:
            value = opt.default
        if value is None:
            if opt.required:
                hint = f" or set {' or '.join(opt.env)}" if opt.env else ""
                raise ConfigurationError(
                    f"missing option {opt.name!r} for adapter {adapter!r}: pass {opt.name}=...{hint}",
                    platform=adapter,
                )
            resolved[opt.name] = None
            continue
        if opt.parse is not None:
            try:
                value = opt.parse(value)
            except (TypeError, ValueError) as exc:
                shown = "(secret)" if opt.secret else repr(value)
                raise ConfigurationError(f"invalid {source} = {shown}: {exc}", platform=adapter) from None
        if opt.secret:
            value = Secret(str(value.reveal() if isinstance(value, Secret) else value))
        resolved[opt.name] = value
    return resolved
