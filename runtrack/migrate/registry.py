"""Registered migration directions: the ``register_migrations(register)`` hook of :mod:`runtrack.plugins`."""

from __future__ import annotations

from typing import Any

import attrs

from runtrack import plugins
from runtrack.errors import ConfigurationError

from .contract import Direction
from .engine import Migration

__all__ = ["DirectionInfo", "available_migrations", "migration", "migration_registry"]


@attrs.frozen
class DirectionInfo:
    name: str
    cls: type[Direction]
    plugin: str


def migration_registry() -> dict[str, DirectionInfo]:
    """Every registered direction by name. Two plugins registering one name is a :class:`ConfigurationError`."""
    pm = plugins.plugin_manager()
    registry: dict[str, DirectionInfo] = {}
    for impl in pm.hook.register_migrations.get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)

        def register(cls: type[Direction], _plugin: str = plugin_name) -> None:
            if not (isinstance(cls, type) and issubclass(cls, Direction)):
                raise ConfigurationError(
                    f"plugin {_plugin!r} registered {cls!r}, which is not a runtrack.migrate.Direction"
                )
            for attr in ("name", "source_platform", "target_platform"):
                if not isinstance(getattr(cls, attr, None), str) or not getattr(cls, attr):
                    raise ConfigurationError(f"plugin {_plugin!r} registered {cls.__name__} without `{attr}`")
            if cls.name in registry and registry[cls.name].cls is not cls:
                raise ConfigurationError(
                    f"migration name {cls.name!r} is registered twice: by plugin {registry[cls.name].plugin!r} and "
                    f"by plugin {_plugin!r}; uninstall one of them"
                )
            registry[cls.name] = DirectionInfo(name=cls.name, cls=cls, plugin=_plugin)

        impl.function(**{arg: register for arg in impl.argnames if arg == "register"})
    return registry


def available_migrations() -> list[str]:
    """Sorted names of every registered migration direction."""
    return sorted(migration_registry())


def migration(name: str, *, source: Any, target: Any, store: Any = None, **options: Any) -> Migration:
    """A :class:`Migration` of direction ``name`` from ``source`` (an adapter, or a store holding the source's
    runs) to ``target`` (an adapter), keeping its state in ``store`` (a runtrack store or a path)."""
    registry = migration_registry()
    info = registry.get(name)
    if info is None:
        raise ConfigurationError(f"unknown migration {name!r}; available: {', '.join(sorted(registry)) or 'none'}")
    cls = info.cls
    for role, adapter, platform in (("source", source, cls.source_platform), ("target", target, cls.target_platform)):
        got = getattr(adapter, "name", None)  # a store has no adapter name: its runs are filtered by platform
        if isinstance(got, str) and got != platform:
            raise ConfigurationError(f"migration {name!r} needs a {platform} {role}, got {got!r}")
    return Migration(cls(source=source, target=target, **options), store=store)
