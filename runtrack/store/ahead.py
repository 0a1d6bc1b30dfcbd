"""Read a listing's pages on a thread while the store writes the pages before them.

A sync alternates between waiting on the platform (and decoding its pages) and writing to SQLite. ``sqlite3``
releases the GIL while SQLite works, so with the listing read on its own thread the two overlap and a sync takes
about the longer of the two instead of their sum. :func:`batches` hands the writer, in listing order, every page
that has arrived since its last transaction (so one transaction takes several small pages when the writer is the
slower side), and re-raises a listing error after the pages read before it. At most ``budget`` runs wait in
memory, whatever the listing's size.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from ..paginate import Page

__all__ = ["batches"]

#: runs read ahead and not yet written, at most (a larger page still passes, alone): 500 small LangSmith runs
#: hold ~20 MB in memory
BUDGET = 500


def batches(pages: Iterable[Page[Any]], *, budget: int | None = None) -> Iterator[list[Page[Any]]]:
    """Lists of consecutive pages of ``pages`` (read on a daemon thread), each as many as had arrived (at least
    one; ``budget`` runs at most, :data:`BUDGET` by default, unless a single page is larger). Closing the iterator
    (or an error in the caller) stops the reading at its next page."""
    limit = BUDGET if budget is None else budget
    cond = threading.Condition()
    queued: deque[Page[Any]] = deque()
    state: dict[str, Any] = {"runs": 0, "done": False, "error": None, "stop": False}

    def read() -> None:
        it = iter(pages)
        try:
            for page in it:
                with cond:
                    while state["runs"] >= limit and not state["stop"]:
                        cond.wait()
                    if state["stop"]:
                        break
                    queued.append(page)
                    state["runs"] += len(page.items)
                    cond.notify_all()
        except BaseException as exc:  # handed to the writer, raised there after the pages before it
            with cond:
                state["error"] = exc
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            with cond:
                state["done"] = True
                cond.notify_all()

    thread = threading.Thread(target=read, name="runtrack-sync-reader", daemon=True)
    thread.start()
    try:
        while True:
            with cond:
                while not queued and not state["done"]:
                    cond.wait()
                if not queued:
                    if state["error"] is not None:
                        raise state["error"]
                    return
                batch = list(queued)
                queued.clear()
                state["runs"] = 0
                cond.notify_all()
            yield batch
    finally:
        with cond:
            state["stop"] = True
            cond.notify_all()
