"""Continuation tokens taken from the body and sent back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ...errors import PaginationError, PayloadError
from ..cursors import State
from ..pages import END
from .base import get_path, int_at, items_at

if TYPE_CHECKING:
    from ...http import Request

__all__ = ["PageToken"]


@attrs.frozen(kw_only=True)
class PageToken:
    """A continuation token taken from the body (``next_path``) and sent back as a query parameter or in the
    JSON body (``token_in``). Ends when the token is absent, null or ``""``; an empty page that carries a token
    continues. ``has_more_path`` names a flag that, when true without a token, is an error; ``total_path`` names
    the listing's total when the vendor sends one."""

    next_path: tuple[str, ...] = ("nextPageToken",)
    token_param: str = "pageToken"
    size_param: str | None = "pageSize"
    items_field: str | None = "data"
    token_in: Literal["query", "json"] = "query"
    has_more_path: tuple[str, ...] | None = None
    total_path: tuple[str, ...] | None = None
    may_drift: bool = False

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        extra: dict[str, Any] = {}
        if page_size is not None and self.size_param:
            extra[self.size_param] = page_size
        if state is not None:
            extra[self.token_param] = state
        if self.token_in == "json":
            return attrs.evolve(base, json={**(base.json or {}), **extra})
        return attrs.evolve(base, params={**base.params, **extra})

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        return items_at(body, self.items_field)

    def total(self, body: Any) -> int | None:
        return int_at(body, self.total_path)

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        token = get_path(body, self.next_path)
        if token is None or token == "":
            if self.has_more_path and get_path(body, self.has_more_path) is True:
                raise PaginationError(
                    f"the page says there is more ({'.'.join(self.has_more_path)}=true) "
                    f"but gives no {'.'.join(self.next_path)}: refusing to stop silently"
                )
            return END
        if not isinstance(token, str):
            raise PayloadError(
                f"expected a string token, got {type(token).__name__}", path="$." + ".".join(self.next_path)
            )
        return token
