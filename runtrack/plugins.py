"""The adapter registry, built on pluggy.

Adapters arrive through one hook, ``register_adapters(register)``, implemented by modules exposed under the
``runtrack`` entry-point group. The built-in adapters use that same entry-point group.

* Entry points load one at a time: a plugin that fails to import, or implements a misspelled hook, is reported
  by name (:func:`plugin_failures`, a logged warning) and skipped; the others still work.
* ``RUNTRACK_DISABLE_PLUGIN_AUTOLOAD=1`` loads only runtrack's own adapters (third-party entry points are
  ignored), for debugging a broken environment.
* The registry is read from the hook on every call, so registering or unregistering a plugin at run time is
  reflected immediately.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from collections.abc import Callable
from importlib import metadata
from typing import Any

import attrs
import pluggy

from .adapter import Adapter
from .errors import ConfigurationError

__all__ = [
    "PluginFailure",
    "adapter_registry",
    "available_adapters",
    "connect",
    "hookimpl",
    "hookspec",
    "plugin_failures",
    "plugin_manager",
]

log = logging.getLogger("runtrack.plugins")

PROJECT = "runtrack"
ENTRY_POINT_GROUP = "runtrack"
DISABLE_ENV = "RUNTRACK_DISABLE_PLUGIN_AUTOLOAD"
#: runtrack's own adapters; used only when the distribution's entry points are not installed (source checkout).
BUILTIN_PLUGINS = {
    "foundry": "runtrack_foundry.plugin",
    "labelstudio": "runtrack_labelstudio.plugin",
    "langsmith": "runtrack_langsmith.plugin",
}

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class _Hookspecs:
    @hookspec
    def register_adapters(self, register: Callable[[type[Adapter]], None]) -> None:
        """Register adapter classes: call ``register(AdapterSubclass)`` once per adapter."""

    @hookspec
    def register_migrations(self, register: Callable[[type[Any]], None]) -> None:
        """Register migration directions: call ``register(DirectionSubclass)`` once per direction
        (a subclass of ``runtrack.migrate.Direction``; see docs/writing-a-migration.md)."""


@attrs.frozen
class PluginFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    distribution: str | None
    error: str


@attrs.frozen
class AdapterInfo:
    """Where an adapter class came from."""

    name: str
    cls: type[Adapter]
    plugin: str
    distribution: str | None
    version: str | None


_manager: pluggy.PluginManager | None = None
_failures: list[PluginFailure] = []
_origins: dict[str, str | None] = {}  # plugin name -> distribution


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide pluggy PluginManager, with entry points loaded on first use."""
    global _manager
    if _manager is None:
        pm = pluggy.PluginManager(PROJECT)
        pm.add_hookspecs(_Hookspecs)
        _load_entry_points(pm)
        _manager = pm
    return _manager


def reset() -> None:
    """Forget the plugin manager (tests; a new one loads the entry points again)."""
    global _manager
    _manager = None
    _failures.clear()
    _origins.clear()


def plugin_failures() -> list[PluginFailure]:
    """Plugins that failed to load in this process."""
    plugin_manager()
    return list(_failures)


def _register_isolated(pm: pluggy.PluginManager, name: str, load: Callable[[], Any], dist: str | None) -> None:
    try:
        plugin = load()
        pm.register(plugin, name=name)
    except Exception as exc:  # a broken plugin must never break the others
        _fail(name, dist, f"{type(exc).__name__}: {exc}")
        return
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(name=name)
        _fail(name, dist, f"unknown hook: {exc}")
        return
    _origins[name] = dist


def _fail(name: str, dist: str | None, error: str) -> None:
    _failures.append(PluginFailure(name=name, distribution=dist, error=error))
    log.warning("runtrack plugin %r%s failed to load and is skipped: %s", name, f" ({dist})" if dist else "", error)


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    third_party = os.environ.get(DISABLE_ENV, "").lower() not in ("1", "true", "yes")
    seen: set[str] = set()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else None
        builtin = dist is not None and dist.lower() == PROJECT
        if not builtin and not third_party:
            continue
        if ep.name in seen or pm.get_plugin(ep.name) is not None:
            _fail(ep.name, dist, f"another plugin already uses the entry-point name {ep.name!r}")
            continue
        seen.add(ep.name)
        _register_isolated(pm, ep.name, ep.load, dist)
    for name, module in BUILTIN_PLUGINS.items():
        if name not in seen and pm.get_plugin(name) is None:
            _register_isolated(pm, name, functools.partial(importlib.import_module, module), PROJECT)


def adapter_registry() -> dict[str, AdapterInfo]:
    """Every registered adapter by name. Two plugins registering one name is a :class:`ConfigurationError`."""
    pm = plugin_manager()
    registry: dict[str, AdapterInfo] = {}
    for impl in pm.hook.register_adapters.get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
        dist = _origins.get(plugin_name)

        def register(cls: type[Adapter], _plugin: str = plugin_name, _dist: str | None = dist) -> None:
            if not (isinstance(cls, type) and issubclass(cls, Adapter)):
                raise ConfigurationError(f"plugin {_plugin!r} registered {cls!r}, which is not a runtrack.Adapter")
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                raise ConfigurationError(f"plugin {_plugin!r} registered {cls.__name__} without a `name`")
            if name in registry and registry[name].cls is not cls:
                raise ConfigurationError(
                    f"adapter name {name!r} is registered twice: by plugin {registry[name].plugin!r} "
                    f"({registry[name].cls.__module__}.{registry[name].cls.__qualname__}) and by plugin "
                    f"{_plugin!r} ({cls.__module__}.{cls.__qualname__}); uninstall one of them"
                )
            version = _dist_version(_dist)
            registry[name] = AdapterInfo(name=name, cls=cls, plugin=_plugin, distribution=_dist, version=version)

        impl.function(**{arg: register for arg in impl.argnames if arg == "register"})
    return registry


def _dist_version(dist: str | None) -> str | None:
    if dist is None:
        return None
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        from ._version import __version__

        return __version__ if dist == PROJECT else None


def available_adapters() -> list[str]:
    """Sorted names of every registered adapter."""
    return sorted(adapter_registry())


def connect(name: str, **options: Any) -> Adapter:
    """An adapter instance for platform ``name``; options fall back to the vendor SDKs' environment variables."""
    registry = adapter_registry()
    info = registry.get(name)
    if info is None:
        failures = [f for f in _failures if f.name == name]
        hint = f" (the plugin {name!r} failed to load: {failures[0].error})" if failures else ""
        raise ConfigurationError(f"unknown adapter {name!r}{hint}; available: {', '.join(sorted(registry)) or 'none'}")
    return info.cls(**options)
