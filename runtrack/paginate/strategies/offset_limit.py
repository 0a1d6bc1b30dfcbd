"""``?offset=&limit=`` paging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..cursors import State
from ..pages import END
from .base import int_at, items_at

if TYPE_CHECKING:
    from ...http import Request

__all__ = ["OffsetLimit"]


@attrs.frozen(kw_only=True)
class OffsetLimit:
    """``?offset=&limit=``; the state is the offset. Ends on an empty page, or a short one when
    ``short_page_ends`` (the vendor guarantees full pages), or when ``offset >= total``."""

    offset_param: str = "offset"
    limit_param: str = "limit"
    items_field: str | None = None
    total_field: str | None = None
    short_page_ends: bool = True
    may_drift: bool = True

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        params = {**base.params, self.offset_param: int(state or 0)}
        if page_size is not None:
            params[self.limit_param] = page_size
        return attrs.evolve(base, params=params)

    def offset_of(self, state: State) -> int:
        return int(state or 0)

    def at_offset(self, offset: int) -> State:
        return offset

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        return items_at(body, self.items_field)

    def total(self, body: Any) -> int | None:
        return int_at(body, (self.total_field,) if self.total_field else None)

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        if not items:
            return END
        offset = int(state or 0) + len(items)
        total = self.total(body)
        if total is not None and offset >= total:
            return END
        if self.short_page_ends and page_size is not None and len(items) < page_size:
            return END
        return offset
