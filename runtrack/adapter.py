"""The :class:`Adapter` base class that every platform adapter (built-in or third-party) implements.

An adapter declares its options (with the environment variables users already have set for the vendor SDK),
builds its :class:`~runtrack.http.Transport`, and returns a :class:`~runtrack.paginate.Listing` from
:meth:`Adapter.listing`; the base class turns that into the public, lazy :meth:`Adapter.runs`.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from .errors import ConfigurationError
from .http import DEFAULT_DEADLINE, ErrorInfo, Secret, Transport
from .model import Run
from .option_values import (
    HiddenValueError,
    parse_base_url,
    parse_bool,
    parse_ca_bundle,
    parse_int,
    parse_positive_number,
    parse_timeout,
)
from .paginate import Listing, RunIterator
from .paginate.loop import DEFAULT_MAX_PAGES

if TYPE_CHECKING:
    import requests

__all__ = [
    "MAX_CONCURRENCY",
    "Adapter",
    "Option",
    "ScopeKeyword",
    "common_options",
    "concurrency_option",
    "rate_limit_option",
    "scope_keywords",
    "unknown_scope_keywords",
]

log = logging.getLogger("runtrack.adapter")

#: Upper bound of the ``concurrency`` option: more workers only add load on the vendor's rate limits.
MAX_CONCURRENCY = 16
#: Upper bound of the ``max_retries`` option.
MAX_RETRIES = 100


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


@attrs.frozen(kw_only=True)
class ScopeKeyword:
    """One keyword of :meth:`Adapter.runs` that selects what is listed (``queue_id``, ``prompt_id``...)."""

    name: str
    help: str = ""


def scope_keywords(cls: type[Adapter]) -> frozenset[str] | None:
    """The scope keywords ``cls.runs()`` accepts: the declared ``scope_keywords``, else the keyword parameters of
    its ``listing()``; None when neither says (a ``listing(**scope)`` without declarations cannot be checked)."""
    if cls.scope_keywords:
        return frozenset(k.name for k in cls.scope_keywords)
    try:
        params = inspect.signature(cls.listing).parameters.values()
    except (TypeError, ValueError):
        return None
    names: set[str] = set()
    for p in params:
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if p.kind is inspect.Parameter.KEYWORD_ONLY or p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            names.add(p.name)
    return frozenset(names - {"self", "page_size"})


def unknown_scope_keywords(cls: type[Adapter], keys: Iterable[str]) -> list[str]:
    """The keys ``cls.runs()`` does not take, sorted: the one check behind ``runs()``, the config and the CLI."""
    valid = scope_keywords(cls)
    return [] if valid is None else sorted(set(keys) - valid)


def parse_concurrency(value: Any) -> int:
    return parse_int(value, minimum=1, maximum=MAX_CONCURRENCY)


def concurrency_option(containers: str) -> Option:
    """The ``concurrency`` option of an adapter whose ``runs()`` fans out over ``containers`` (a plural noun)."""
    return Option(
        name="concurrency",
        default=1,
        parse=parse_concurrency,
        help=f"{containers} listed at once when runs() fans out, 1 to {MAX_CONCURRENCY}; pages still come in order",
    )


def _positive_int(value: Any) -> int:
    return parse_int(value, minimum=1)


ON_INVALID = ("raise", "skip")


def _on_invalid(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ON_INVALID:
        raise ValueError(f"must be one of {', '.join(ON_INVALID)}")
    return text


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
    """The options every adapter has: ``base_url``, ``api_key``, ``timeout``, ``deadline``, ``max_retries``,
    ``max_pages``, ``on_invalid``, ``verify``, ``ca_bundle``."""
    return (
        Option(
            name="base_url",
            env=base_url_env,
            required=default_base_url is None,
            default=default_base_url,
            parse=parse_base_url,
            help="the platform's URL (a bare host means https://HOST); credentials in it are refused",
        ),
        Option(name="api_key", env=api_key_env, required=True, secret=True, help="API key or token"),
        Option(name="timeout", default=(3.05, 60.0), parse=parse_timeout, help="seconds, or (connect, read)"),
        Option(
            name="deadline",
            default=DEFAULT_DEADLINE,
            parse=parse_positive_number,
            help="seconds one request may take in all, however slowly the answer trickles in",
        ),
        Option(
            name="max_retries",
            default=4,
            parse=lambda value: parse_int(value, minimum=0, maximum=MAX_RETRIES),
            help=f"retries of 429/5xx/connection errors, 0 to {MAX_RETRIES}",
        ),
        Option(
            name="max_pages",
            default=DEFAULT_MAX_PAGES,
            parse=_positive_int,
            help="pages one listing (one queue, one prompt version...) may fetch before it stops with an error",
        ),
        Option(
            name="on_invalid",
            default="raise",
            parse=_on_invalid,
            help="an item that cannot be read: 'raise' stops the listing, 'skip' lists the others and reports it",
        ),
        Option(
            name="verify",
            default=True,
            parse=parse_bool,
            help="verify TLS certificates; false is for tests only and is warned about on every connect",
        ),
        Option(
            name="ca_bundle",
            parse=parse_ca_bundle,
            help="CA bundle file or directory to verify TLS with (a corporate TLS proxy's CA)",
        ),
    )


class Adapter:
    """Base class of platform adapters.

    Subclasses set ``name`` (the registry name), ``options`` and ``kind``, and implement :meth:`listing`.
    Options are resolved at construction: explicit value, then environment variables, then the default; a
    missing required option is a :class:`ConfigurationError` naming the option and its environment variables.
    """

    name: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()
    #: the keywords :meth:`runs` takes to select what is listed (checked before :meth:`listing` is called)
    scope_keywords: ClassVar[tuple[ScopeKeyword, ...]] = ()
    #: what the runs of :meth:`runs` are (part of every run's uid)
    kind: ClassVar[str] = "run"

    def __init__(self, *, environ: Mapping[str, str] | None = None, **options: Any) -> None:
        self.config: dict[str, Any] = resolve_options(self.name, self.options, options, environ)
        if self.config.get("verify") is False:
            if self.config.get("ca_bundle"):
                raise ConfigurationError("verify=false contradicts ca_bundle: give one of them", platform=self.name)
            log.warning(
                "%s: TLS certificate verification is OFF (verify=false): anyone on the network path to %s can read "
                "and change this traffic, credentials included",
                self.name,
                self.config.get("base_url"),
            )
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
            deadline=self.config.get("deadline"),
            verify=self.tls_verify,
            rate_limit=self.config.get("rate_limit"),
        )

    @property
    def tls_verify(self) -> bool | str:
        """What the transport verifies TLS with: ``ca_bundle`` when set, else the ``verify`` option."""
        return self.config.get("ca_bundle") or self.config.get("verify", True) is not False

    def make_auth(self) -> Any:
        return None

    def describe_error(self, response: requests.Response) -> ErrorInfo:
        """Read the vendor's error envelope; the default finds ``detail``/``message``."""
        from .http import default_error_message

        return ErrorInfo(message=default_error_message(response))

    def listing(self, *, page_size: int | None = None, **scope: Any) -> Listing[Run]:
        """The listing of runs for ``scope``; no I/O may happen here."""
        raise NotImplementedError

    def listing_options(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~runtrack.paginate.HttpListing` that come from the common options
        (``max_pages``, ``on_invalid``): pass them to every listing the adapter builds."""
        return {
            "max_pages": self.config.get("max_pages", DEFAULT_MAX_PAGES),
            "on_invalid": self.config.get("on_invalid", "raise"),
        }

    # -- the public listing interface

    def runs(
        self,
        *,
        max_items: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        on_invalid: str | None = None,
        **scope: Any,
    ) -> RunIterator[Run]:
        """A lazy, single-pass iterator of :class:`~runtrack.Run` for ``scope``. Nothing is fetched until it is
        iterated. ``cursor`` resumes right after the page it came from (``page.next_cursor`` or an error's
        ``cursor``). ``on_invalid`` overrides the adapter's option for this listing: ``"skip"`` lists every run
        that can be read and records the others in the iterator's ``skipped``."""
        if page_size is not None and page_size < 1:
            raise ConfigurationError(f"page_size must be >= 1, got {page_size}", platform=self.name)
        self.check_scope(scope)
        source = self
        if on_invalid is not None:
            try:
                policy = _on_invalid(on_invalid)
            except ValueError as exc:
                raise ConfigurationError(f"on_invalid {exc}, got {on_invalid!r}", platform=self.name) from None
            source = copy.copy(self)  # the same transport and state, another policy for this listing's items
            source.config = {**self.config, "on_invalid": policy}
        listing = source.listing(page_size=page_size, **scope)
        return RunIterator(listing, name=self.listing_name(scope), cursor=cursor, max_items=max_items)

    def check_scope(self, scope: Mapping[str, Any]) -> None:
        """Refuse scope keywords :meth:`runs` does not take, naming the ones it does."""
        unknown = unknown_scope_keywords(type(self), scope)
        if unknown:
            from .config import suggest

            raise ConfigurationError(
                f"unknown scope keyword(s) {', '.join(unknown)} for {self.name} runs()"
                + suggest(unknown[0], scope_keywords(type(self)) or ()),
                platform=self.name,
            )

    def listing_name(self, scope: Mapping[str, Any]) -> str:
        """Identifies a listing inside its cursors, so a cursor cannot resume a different listing."""
        parts = [f"{k}={v}" for k, v in sorted(scope.items()) if v is not None]
        return f"{self.name}:{self.instance}:{self.kind}:" + ",".join(parts)


def _missing_hint(opt: Option) -> str:
    """How to give a missing option. A secret is never passed on a command line: name where it comes from."""
    env = " or ".join(opt.env)
    if opt.secret:
        where = f"set the environment variable {env}, or name" if env else "name"
        return (
            f"{where} the variable that holds it with {opt.name}_env in the configuration file or "
            f"--{opt.name.replace('_', '-')}-env on the command line (in Python: connect(..., {opt.name}=...))"
        )
    return f"pass {opt.name}=... (configuration file, or --option {opt.name}=...)" + (f" or set {env}" if env else "")


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
                raise ConfigurationError(
                    f"missing option {opt.name!r} for adapter {adapter!r}: {_missing_hint(opt)}", platform=adapter
                )
            resolved[opt.name] = None
            continue
        if opt.parse is not None:
            try:
                value = opt.parse(value)
            except (TypeError, ValueError) as exc:
                hidden = opt.secret or isinstance(exc, HiddenValueError)
                shown = "(not shown)" if hidden else repr(value)
                raise ConfigurationError(f"invalid {source} = {shown}: {exc}", platform=adapter) from None
        if opt.secret:  # surrounding whitespace is never part of a key (a pasted "key\n" would break the header)
            value = Secret(str(value.reveal() if isinstance(value, Secret) else value).strip())
        resolved[opt.name] = value
    return resolved
