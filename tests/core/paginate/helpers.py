"""A fake server of plain dict responses (no HTTP) and small helpers the pagination tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtrack.paginate import HttpListing, Request, RunIterator


class Server:
    """Answers requests from a function of the request, and records them."""

    def __init__(self, answer: Callable[[Request], Any]) -> None:
        self.answer = answer
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Any:
        self.requests.append(request)
        return self.answer(request)


def offset_server(items: list[Any]) -> Server:
    def answer(req: Request) -> Any:
        offset, limit = int(req.params["offset"]), int(req.params["limit"])
        return items[offset : offset + limit]

    return Server(answer)


def token_server(pages: dict[str | None, Any]) -> Server:
    return Server(lambda req: pages[req.params.get("pageToken")])


def ident(item: Any) -> Any:
    return item


def listing(server: Server, strategy: Any, **kw: Any) -> HttpListing[Any]:
    return HttpListing(server, Request(path="items"), strategy, ident, **kw)


def collect(lst: Any, **kw: Any) -> list[Any]:
    return list(RunIterator(lst, name="test", **kw))
