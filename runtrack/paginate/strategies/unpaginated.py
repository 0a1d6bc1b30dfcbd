"""A whole listing in one response."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..cursors import State
from ..pages import END
from .base import items_at

if TYPE_CHECKING:
    from ...http import Request

__all__ = ["Unpaginated"]


@attrs.frozen(kw_only=True)
class Unpaginated:
    """The whole listing in one response: a plain array, or ``body[items_field]``."""

    items_field: str | None = None
    may_drift: bool = False

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        return base

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        return items_at(body, self.items_field)

    def total(self, body: Any) -> int | None:
        return None

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        return END
