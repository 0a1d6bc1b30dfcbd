"""Environment helpers for talking to the fakes: loopback traffic must never go through a configured proxy."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["LOOPBACK_HOSTS", "no_proxy_updates"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_NO_PROXY_VARS = ("no_proxy", "NO_PROXY")


def no_proxy_updates(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``no_proxy``/``NO_PROXY`` values that add the loopback hosts to what ``environ`` already has.

    ``requests`` sends even ``http://127.0.0.1`` through ``HTTP_PROXY`` unless ``no_proxy`` names it, and it reads
    the lower-case variable first, so both are set. Empty when nothing needs to change.
    """
    updates: dict[str, str] = {}
    for var in _NO_PROXY_VARS:
        current = environ.get(var, "")
        entries = [e.strip() for e in current.split(",") if e.strip()]
        missing = [h for h in LOOPBACK_HOSTS if h not in entries]
        if missing:
            updates[var] = ",".join([*entries, *missing])
    return updates
