"""`Unpaginated`: the whole listing in one response; and strategies as pure functions."""

from __future__ import annotations

import pytest

from runtrack.errors import PayloadError
from runtrack.paginate import (
    END,
    OffsetLimit,
    PageToken,
    Request,
    Unpaginated,
)

from .helpers import Server, collect, listing


def test_unpaginated() -> None:
    assert collect(listing(Server(lambda req: [1, 2, 3]), Unpaginated())) == [1, 2, 3]
    assert collect(listing(Server(lambda req: {"items": None}), Unpaginated(items_field="items"))) == []
    with pytest.raises(PayloadError, match="expected a JSON array"):
        collect(listing(Server(lambda req: "nope"), Unpaginated()))


def test_strategies_are_pure() -> None:
    base = Request(path="x")
    assert OffsetLimit().next_state([], [], 0, 10) is END
    assert OffsetLimit().next_state([1] * 10, [1] * 10, 20, 10) == 30
    assert PageToken().next_state({"nextPageToken": "t"}, [], "s", 5) == "t"
    assert OffsetLimit().request(base, 30, 10).params == {"offset": 30, "limit": 10}
    assert base.params == {}
