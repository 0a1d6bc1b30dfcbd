"""Pages addressed by a 1-based page number, with the listing's total in the body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ...errors import PayloadError
from ..cursors import State
from ..pages import END
from .base import int_at

if TYPE_CHECKING:
    from ...http import Request

__all__ = ["PageNumber"]


@attrs.frozen(kw_only=True)
class PageNumber:
    """``?page=N&page_size=S`` (1-based) with ``{items_field: [...], total_field: N}`` in the body; the state is
    the page number. Ends on an empty or short page, or once ``total`` items were read (some servers, Label Studio's
    task list among them, answer 404 for a page past the end)."""

    items_field: str
    total_field: str = "total"
    page_param: str = "page"
    size_param: str = "page_size"
    may_drift: bool = True

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        params = {**base.params, self.page_param: int(state or 1)}
        if page_size is not None:
            params[self.size_param] = page_size
        return attrs.evolve(base, params=params)

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        if not isinstance(body, dict) or not isinstance(body.get(self.items_field), list):
            raise PayloadError(f"expected an object with an array {self.items_field!r}", path="$")
        return f"$.{self.items_field}", body[self.items_field]

    def total(self, body: Any) -> int | None:
        return int_at(body, (self.total_field,))

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        page = int(state or 1)
        if not items or (page_size is not None and len(items) < page_size):
            return END
        total = self.total(body)
        if total is not None and page_size is not None and page * page_size >= total:
            return END
        return page + 1
