"""A total deadline per request: a server that trickles its answer one byte at a time (each byte well within the
read timeout) is cut off at the deadline with a typed error, in the body and in the headers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

import runtrack

BODY = b"[" + b" " * 38 + b"]"  # 40 bytes: 10 s at 0.25 s a byte, so a missing deadline fails instead of hanging
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)


@contextlib.contextmanager
def trickle(slow_part: str) -> Iterator[str]:
    """A server that sends ``HEAD`` and ``BODY``, the ``slow_part`` ("body" or "headers") a byte every 0.25 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                fast, slow = (HEAD, BODY) if slow_part == "body" else (b"", HEAD + BODY)
                try:
                    conn.sendall(fast)
                    for i in range(len(slow)):
                        if stop.wait(0.25):
                            return
                        conn.sendall(slow[i : i + 1])
                except OSError:
                    continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(5)


@pytest.mark.parametrize("slow_part", ["body", "headers"])
def test_a_trickling_answer_ends_at_the_deadline(slow_part: str) -> None:
    with (
        trickle(slow_part) as url,
        runtrack.connect(
            "langsmith", base_url=url, api_key="lsv2_x_key_1234", timeout=(5, 5), deadline=0.6, max_retries=0
        ) as ad,
        pytest.raises(runtrack.NetworkError, match="deadline of 0.6s"),
    ):
        list(ad.runs(queue_id="q"))


def test_the_deadline_has_a_default_and_a_retried_attempt_gets_a_fresh_one() -> None:
    with runtrack.connect("langsmith", api_key="lsv2_x_key_1234") as ad:
        assert ad.transport.deadline == runtrack.http.DEFAULT_DEADLINE == 300
    assert runtrack.http.Transport("http://127.0.0.1:9", platform="x").deadline == 300  # third-party adapters too
    with (
        trickle("body") as url,
        runtrack.connect(
            "langsmith", base_url=url, api_key="lsv2_x_key_1234", timeout=(5, 5), deadline=0.6, max_retries=1
        ) as ad,
        pytest.raises(runtrack.NetworkError, match=r"deadline of 0.6s \(after 1 retries\)"),
    ):
        list(ad.runs(queue_id="q"))
