"""The :class:`Strategy` protocol and the helpers every strategy shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ...errors import PayloadError
from ..cursors import State

if TYPE_CHECKING:
    from ...http import Request

__all__ = ["Addressable", "Strategy", "get_path", "int_at", "items_at"]


class Strategy(Protocol):
    """Decides requests, the end and the total of a listing; pure functions of the previous response, no I/O."""

    @property
    def may_drift(self) -> bool:
        """Whether items may shift between pages (offset paging): the loop then checks pages against the ids
        it has seen (see docs/pagination.md)."""
        ...

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        """The request for the page at ``state`` (None: the first page)."""

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        """``(JSON path, items)`` of the page in ``body``."""

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        """The state of the next page, or :data:`~runtrack.paginate.END`."""

    def total(self, body: Any) -> int | None:
        """How many items the whole listing has, when the page says so."""


@runtime_checkable
class Addressable(Strategy, Protocol):
    """A strategy whose pages are addressed by item offset, so the request for any page is known in advance: the
    loop keeps several in flight and overlaps consecutive pages to catch items that shift between them."""

    def offset_of(self, state: State) -> int:
        """The item offset a state stands for."""

    def at_offset(self, offset: int) -> State:
        """The state of the page that starts at item ``offset``."""


def items_at(body: Any, field: str | None) -> tuple[str, Sequence[Any]]:
    """Items of a page: a plain array, or ``body[field]`` (null or missing is an empty page)."""
    if isinstance(body, list):
        return "$", body
    if field is None or not isinstance(body, dict):
        raise PayloadError(
            f"expected a JSON array{' or an object with ' + repr(field) if field else ''}, got {type(body).__name__}",
            path="$",
        )
    value = body.get(field)
    if value is None:
        return f"$.{field}", ()
    if not isinstance(value, list):
        raise PayloadError(f"expected an array, got {type(value).__name__}", path=f"$.{field}")
    return f"$.{field}", value


def get_path(body: Any, path: tuple[str, ...]) -> Any:
    """``body[path[0]][path[1]]...``, None where something on the way is missing or not an object."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def int_at(body: Any, path: tuple[str, ...] | None) -> int | None:
    """An integer at ``path`` of ``body`` (a total or count), None when absent or not an integer."""
    if path is None:
        return None
    value = get_path(body, path)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
