"""The pagination shapes of the Prompts API.

* ``/api/prompts/`` answers a plain array (servers before SDK 2.0.21) or DRF pages ``{count, next, previous,
  results}`` with absolute ``next`` links; both are accepted.
* ``/api/prompts/{p}/versions`` and ``.../inference-runs`` answer plain arrays; the runs endpoint was once
  declared as a single object, which is accepted as a one-item page.
* ``next`` links are followed on the configured base URL: a link to another origin (a proxy that rewrites
  hosts, a server that does not know its public URL) is rebased onto ``base_url`` from its ``/api/`` part, so
  the path prefix is kept and credentials never go to another host.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from runtrack.errors import PayloadError
from runtrack.paginate import END, NextLink, State

__all__ = ["LinkedPages", "rebase_link"]


def rebase_link(url: str, base_url: str) -> str:
    """``url`` if it is on ``base_url``'s origin, else its ``api/...`` part, relative to ``base_url``."""
    parts, base = urlsplit(url), urlsplit(base_url)
    same_origin = (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower())
    if same_origin and parts.path.startswith(base.path.rstrip("/") + "/"):
        return url
    at = parts.path.find("/api/")
    if at < 0:
        if not parts.scheme and not parts.netloc:
            return url
        raise PayloadError(f"next link {url[:120]!r} is not a Label Studio API URL", path="$.next")
    return parts.path[at + 1 :] + (f"?{parts.query}" if parts.query else "")


@attrs.frozen(kw_only=True)
class LinkedPages(NextLink):
    """:class:`NextLink` for Label Studio: plain arrays, DRF pages, optionally a single object; next links are
    kept on ``base_url``."""

    base_url: str
    single_object: bool = False
    size_param: str | None = None

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        if isinstance(body, dict) and self.items_field not in body:
            if self.single_object:
                return "$", (body,)
            raise PayloadError(
                f"expected a JSON array or an object with {self.items_field!r}, got an object with keys "
                f"{sorted(body)[:8]}",
                path="$",
            )
        return super().items(body)

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        if isinstance(body, dict) and self.items_field not in body:
            return END  # the single-object shape
        nxt = super().next_state(body, items, state, page_size)
        if nxt is END:
            return END
        url, seen = nxt
        return [rebase_link(url, self.base_url), seen]
