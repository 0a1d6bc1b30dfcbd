"""Django REST framework pages that link to the next one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ...errors import PaginationError, PayloadError
from ..cursors import State
from ..pages import END
from .base import int_at, items_at

if TYPE_CHECKING:
    from ...http import Request

__all__ = ["NextLink"]


@attrs.frozen(kw_only=True)
class NextLink:
    """Django REST framework pages ``{count, next, previous, results}``: follow ``next`` (absolute or relative)
    with the original query dropped. A plain array is a single, complete page. A page whose ``count`` promises
    more items than were seen, with no ``next``, is an error. The state is ``[next link, items seen]``."""

    next_field: str = "next"
    items_field: str = "results"
    count_field: str | None = "count"
    size_param: str | None = "page_size"
    may_drift: bool = True

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        if state is None:
            params = dict(base.params)
            if page_size is not None and self.size_param:
                params[self.size_param] = page_size
            return attrs.evolve(base, params=params)
        url, _seen = state
        return attrs.evolve(base, path=url, params={})

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        return items_at(body, self.items_field)

    def total(self, body: Any) -> int | None:
        return int_at(body, (self.count_field,) if self.count_field else None)

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        seen = (state[1] if state else 0) + len(items)
        if not isinstance(body, dict):
            return END
        url = body.get(self.next_field)
        if not url:
            count = self.total(body)
            if count is not None and seen < count:
                raise PaginationError(
                    f"the listing reports count={count} but ends after {seen} items without a next link"
                )
            return END
        if not isinstance(url, str):
            raise PayloadError(f"expected a URL string, got {type(url).__name__}", path=f"$.{self.next_field}")
        return [url, seen]
