"""The runtrack configuration file (TOML): which sources to read and how to report on them.

```toml
[report]
stuck_after = "6h"          # RUNNING/QUEUED longer than this is "stuck"
since = "2024-05-01"        # or "7d"; runs created earlier are left out of the report
top_errors = 5

[[source]]
name = "ls-prod"            # a label; defaults to the adapter name
adapter = "langsmith"
base_url = "https://api.smith.langchain.com"
api_key_env = "LANGSMITH_API_KEY"    # the NAME of the variable holding the secret
scope = { queue_id = ["q1", "q2"] }  # lists expand into one listing per value
```

Every other key of a source is passed to ``runtrack.connect()`` as an adapter option and checked against the
options the adapter declares. Inline secrets are refused. Problems raise :class:`ConfigFileError` naming the file
and the key's path (``source[2].scope.queue_idd``).
"""

from __future__ import annotations

import difflib
import importlib
import itertools
import os
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs

from ._redact import LOOKS_LIKE_A_KEY, looks_like_secret
from .adapter import Adapter, scope_keywords, unknown_scope_keywords
from .convert import parse_datetime
from .errors import ConfigurationError, PayloadError
from .option_values import parse_base_url

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "Config",
    "ConfigFileError",
    "ReportOptions",
    "SourceSpec",
    "find_config",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_since",
    "scope_keywords",
    "suggest",
]

CONFIG_ENV = "RUNTRACK_CONFIG"
DEFAULT_CONFIG = "runtrack.toml"
MAX_SCOPES_PER_SOURCE = 1000
MAX_DURATION_DAYS = 999_999_999  # what a timedelta holds

SOURCE_KEYS = ("name", "adapter", "scope", "page_size", "max_items")
REPORT_KEYS = ("stuck_after", "since", "top_errors", "group_by")
TOP_KEYS = ("source", "report")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UTC = timezone.utc


class ConfigFileError(ConfigurationError):
    """A problem in the configuration file; ``key`` is the path of the offending key (``source[0].scope``)."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.key = key


@attrs.frozen(kw_only=True)
class ReportOptions:
    """The ``[report]`` table."""

    stuck_after: timedelta = timedelta(hours=6)
    since: datetime | None = None
    top_errors: int = 5
    group_by: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class SourceSpec:
    """One ``[[source]]``: an adapter, its options, where its secrets come from, and the scopes to list."""

    name: str
    adapter: str
    options: Mapping[str, Any] = attrs.field(factory=dict)
    #: option name -> name of the environment variable holding its value (secrets)
    secret_env: Mapping[str, str] = attrs.field(factory=dict)
    #: one ``runs(**scope)`` call per entry; ``{}`` lists everything the adapter can see
    scopes: tuple[Mapping[str, Any], ...] = ({},)
    page_size: int | None = None
    max_items: int | None = None
    key: str = ""  #: where it was configured (``source[1]``)

    def connect_options(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Options for ``runtrack.connect()``, with secrets read from their environment variables."""
        env = os.environ if environ is None else environ
        options = dict(self.options)
        for option, var in self.secret_env.items():
            value = env.get(var)
            if not value:
                raise ConfigurationError(
                    f"source {self.name!r}: the environment variable {var} ({option}_env) is not set or empty",
                    platform=self.adapter,
                )
            options[option] = value
        return options


@attrs.frozen(kw_only=True)
class Config:
    sources: tuple[SourceSpec, ...]
    report: ReportOptions = ReportOptions()
    file: str | None = None

    def select(self, names: Iterable[str]) -> Config:
        """Only the sources named ``names`` (all when empty); an unknown name is an error."""
        wanted = list(names)
        if not wanted:
            return self
        known = {s.name for s in self.sources}
        missing = [n for n in wanted if n not in known]
        if missing:
            raise ConfigFileError(
                f"no source named {', '.join(map(repr, missing))}; configured: {', '.join(sorted(known)) or 'none'}",
                file=self.file,
            )
        return attrs.evolve(self, sources=tuple(s for s in self.sources if s.name in wanted))


# --------------------------------------------------------------------------- finding and reading the file


def find_config(explicit: str | None, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """``--config``, else ``$RUNTRACK_CONFIG``, else ``./runtrack.toml``; none of them is a clear error."""
    env = os.environ if environ is None else environ
    if explicit:
        path, origin = Path(explicit), "--config"
    elif env.get(CONFIG_ENV):
        path, origin = Path(env[CONFIG_ENV]), CONFIG_ENV
    else:
        path = (cwd or Path.cwd()) / DEFAULT_CONFIG
        if not path.exists():
            raise ConfigFileError(
                f"no configuration: pass --config FILE, set {CONFIG_ENV}, or create ./{DEFAULT_CONFIG} "
                "(see docs/cli.md)"
            )
        return path
    if not path.is_file():
        raise ConfigFileError(f"configuration file not found (from {origin})", file=str(path))
    return path


def _toml_loads(text: str, file: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        decode_error: type[Exception] = tomllib.TOMLDecodeError
        loads = tomllib.loads
    else:  # pragma: no cover - exercised on Python 3.10 only
        try:
            toml = importlib.import_module("tomli")
        except ImportError:
            raise ConfigFileError(
                "reading TOML needs Python 3.11+ or the 'tomli' package (pip install tomli)", file=file
            ) from None
        decode_error, loads = toml.TOMLDecodeError, toml.loads
    try:
        data: dict[str, Any] = loads(text)
    except decode_error as exc:
        raise ConfigFileError(f"invalid TOML: {exc}", file=file) from None
    return data


def load_config(
    path: str | Path,
    *,
    adapters: Mapping[str, type[Adapter]] | None = None,
    unavailable: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Config:
    """Read and check a configuration file. See :func:`parse_config` for ``adapters`` and ``unavailable``."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read: {exc}", file=file) from None
    return parse_config(_toml_loads(text, file), file=file, adapters=adapters, unavailable=unavailable, now=now)


def parse_config(
    data: Mapping[str, Any],
    *,
    file: str | None = None,
    adapters: Mapping[str, type[Adapter]] | None = None,
    unavailable: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Config:
    """Check a decoded configuration.

    ``adapters`` (name -> class) enables the adapter-aware checks: unknown adapters, options and scope keywords.
    ``unavailable`` names adapters whose plugin failed to load: such a source is accepted without those checks
    (reading it then fails, and the report marks it failed).
    """
    return _Parser(file, adapters, unavailable or {}, now or datetime.now(UTC)).config(data)


# --------------------------------------------------------------------------- values


def parse_duration(value: Any, key: str = "duration") -> timedelta:
    """``"90s"``, ``"30m"``, ``"6h"``, ``"2d"``, ``"1h30m"``, or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{key}: expected a duration such as '6h', got a boolean")
    seconds: float | None = None
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{key}: must not be negative")
        seconds = value
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if text.isdigit():
            seconds = int(text)
        elif parts and "".join(n + u for n, u in parts).lower() == text.lower():
            seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts)
    if seconds is not None:
        try:
            return timedelta(seconds=seconds)
        except (OverflowError, ValueError):
            raise ValueError(f"{key}: {value!r} is too long a duration (at most {MAX_DURATION_DAYS} days)") from None
    raise ValueError(f"{key}: expected a duration such as '90s', '30m', '6h', '2d' or '1h30m', got {value!r}")


def parse_since(value: Any, now: datetime, key: str = "since") -> datetime:
    """An ISO date or datetime (naive = UTC), a TOML date/datetime, or a relative age such as ``"7d"``."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        try:
            parsed = parse_datetime(text, key)
        except PayloadError:
            parsed = None
        if parsed is not None:
            return parsed
        try:
            age = parse_duration(text, key)
        except ValueError as exc:
            if "too long" in str(exc):
                raise
        else:
            try:
                return now - age
            except OverflowError:
                raise ValueError(f"{key}: {value!r} reaches back before the year 1") from None
    raise ValueError(
        f"{key}: expected a date (2024-05-01), a datetime (2024-05-01T12:00:00Z) or an age (7d), got {value!r}"
    )


def suggest(key: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; valid: {', '.join(valid) or 'none'}"


class _Parser:
    def __init__(
        self,
        file: str | None,
        adapters: Mapping[str, type[Adapter]] | None,
        unavailable: Mapping[str, str],
        now: datetime,
    ) -> None:
        self.file = file
        self.adapters = adapters
        self.unavailable = unavailable
        self.now = now

    def error(self, key: str, message: str) -> ConfigFileError:
        return ConfigFileError(message, file=self.file, key=key)

    def config(self, data: Mapping[str, Any]) -> Config:
        for key in data:
            if key not in TOP_KEYS:
                raise self.error(key, "unknown key" + suggest(key, TOP_KEYS))
        raw_sources = data.get("source")
        if raw_sources is None:
            raise self.error("source", "no [[source]] tables: configure at least one source (see docs/cli.md)")
        if not isinstance(raw_sources, list) or not all(isinstance(s, dict) for s in raw_sources):
            raise self.error("source", "expected [[source]] tables (an array of tables)")
        if not raw_sources:
            raise self.error("source", "no sources configured")
        sources = [self.source(f"source[{i}]", s) for i, s in enumerate(raw_sources)]
        seen: dict[str, str] = {}
        for s in sources:
            if s.name in seen:
                raise self.error(
                    f"{s.key}.name",
                    f"duplicate source name {s.name!r} (also {seen[s.name]}); give each source a distinct name",
                )
            seen[s.name] = s.key
        report = self.report(data.get("report", {}))
        return Config(sources=tuple(sources), report=report, file=self.file)

    def report(self, raw: Any) -> ReportOptions:
        if not isinstance(raw, dict):
            raise self.error("report", "expected a [report] table")
        for key in raw:
            if key not in REPORT_KEYS:
                raise self.error(f"report.{key}", "unknown key" + suggest(key, REPORT_KEYS))
        kwargs: dict[str, Any] = {}
        for name, parse in (("stuck_after", parse_duration), ("since", lambda v, k: parse_since(v, self.now, k))):
            if name in raw:
                try:
                    kwargs[name] = parse(raw[name], f"report.{name}")
                except ValueError as exc:
                    raise self.error(f"report.{name}", str(exc).removeprefix(f"report.{name}: ")) from None
        if "top_errors" in raw:
            kwargs["top_errors"] = self.integer("report.top_errors", raw["top_errors"], minimum=0)
        if "group_by" in raw:
            group_by = raw["group_by"]
            if isinstance(group_by, str):
                group_by = [group_by]
            if not isinstance(group_by, list) or not all(isinstance(g, str) and g for g in group_by):
                raise self.error("report.group_by", "expected a list of scope keys, such as ['queue_id']")
            kwargs["group_by"] = tuple(group_by)
        return ReportOptions(**kwargs)

    def integer(self, key: str, value: Any, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {type(value).__name__}")
        if value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        return value

    def source(self, key: str, raw: Mapping[str, Any]) -> SourceSpec:
        adapter = raw.get("adapter")
        if not isinstance(adapter, str) or not adapter:
            raise self.error(f"{key}.adapter", 'missing or empty: name the adapter, e.g. adapter = "langsmith"')
        cls = self.adapter_class(f"{key}.adapter", adapter)
        declared = {opt.name: opt for opt in cls.options} if cls is not None else None
        secret_options = {n for n, o in declared.items() if o.secret} if declared is not None else {"api_key"}
        secret_options.add("api_key")
        name = raw.get("name", adapter)
        if not isinstance(name, str) or not name.strip():
            raise self.error(f"{key}.name", "expected a non-empty string")
        options: dict[str, Any] = {}
        secret_env: dict[str, str] = {}
        for k, value in raw.items():
            path = f"{key}.{k}"
            if k in SOURCE_KEYS:
                continue
            if k in secret_options:
                raise self.error(
                    path,
                    "inline secrets are refused (a config file is easily committed or shared): put the secret in "
                    f'an environment variable and name it here, e.g. {k}_env = "MY_{k.upper()}"',
                )
            if k.endswith("_env") and k[: -len("_env")] in secret_options:
                secret_env[k[: -len("_env")]] = self.env_name(path, value)
                continue
            if declared is not None and k not in declared:
                valid = [*SOURCE_KEYS, *(n for n in declared if n not in secret_options)]
                valid += [f"{n}_env" for n in secret_options if n in declared]
                raise self.error(path, f"unknown key for adapter {adapter!r}" + suggest(k, valid))
            parse = declared[k].parse if declared is not None else parse_base_url if k == "base_url" else None
            if parse is not None:  # the same check connect() makes, now, naming the key
                try:
                    parse(value)
                except (TypeError, ValueError) as exc:  # the parsers never repeat a value that may be secret
                    raise self.error(path, str(exc)) from None
            options[k] = value
        scopes = self.scopes(f"{key}.scope", raw.get("scope", {}), cls)
        page_size = self.integer(f"{key}.page_size", raw["page_size"], minimum=1) if "page_size" in raw else None
        max_items = self.integer(f"{key}.max_items", raw["max_items"], minimum=0) if "max_items" in raw else None
        return SourceSpec(
            name=name.strip(),
            adapter=adapter,
            options=options,
            secret_env=secret_env,
            scopes=scopes,
            page_size=page_size,
            max_items=max_items,
            key=key,
        )

    def adapter_class(self, key: str, adapter: str) -> type[Adapter] | None:
        if self.adapters is None or adapter in self.unavailable:
            return None
        cls = self.adapters.get(adapter)
        if cls is None:
            raise self.error(key, f"unknown adapter {adapter!r}" + suggest(adapter, self.adapters))
        return cls

    def env_name(self, key: str, value: Any) -> str:
        if isinstance(value, str) and looks_like_secret(value):
            raise self.error(key, LOOKS_LIKE_A_KEY)
        if not isinstance(value, str) or not _ENV_NAME.match(value):
            # Never echo the value: it may be the secret itself, pasted in the wrong place.
            raise self.error(key, "expected the NAME of an environment variable (letters, digits, _), not a value")
        return value

    def scopes(self, key: str, raw: Any, cls: type[Adapter] | None) -> tuple[Mapping[str, Any], ...]:
        if not isinstance(raw, dict):
            raise self.error(key, 'expected a table, e.g. scope = { queue_id = ["..."] }')
        unknown = unknown_scope_keywords(cls, raw) if cls is not None else []
        if cls is not None and unknown:
            k = unknown[0]
            valid = scope_keywords(cls) or ()
            raise self.error(f"{key}.{k}", f"unknown scope keyword for adapter {cls.name!r}" + suggest(k, valid))
        axes: list[list[tuple[str, Any]]] = []
        for k, value in raw.items():
            path = f"{key}.{k}"
            values = value if isinstance(value, list) else [value]
            if not values:
                raise self.error(path, "an empty list selects nothing: remove the key to list everything")
            for i, v in enumerate(values):
                if not isinstance(v, (str, int, bool)):
                    where = f"{path}[{i}]" if isinstance(value, list) else path
                    raise self.error(where, f"expected a string, integer or boolean, got {type(v).__name__}")
            axes.append([(k, v) for v in values])
        combos = 1
        for axis in axes:
            combos *= len(axis)
        if combos > MAX_SCOPES_PER_SOURCE:
            raise self.error(key, f"expands into {combos} listings (more than {MAX_SCOPES_PER_SOURCE}); split it")
        return tuple(dict(combo) for combo in itertools.product(*axes))
