"""The HTTP layer every fake shares: lifecycle, 127.0.0.1 only, keep-alive, Content-Length, request log."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith


@pytest.mark.parametrize("cls", [FakeLangSmith, FakeFoundry, FakeLabelStudio])
def test_starts_and_stops_in_milliseconds_on_loopback(cls: type[FakeLangSmith]) -> None:
    t0 = time.perf_counter()
    fake = cls().start()
    started = time.perf_counter() - t0
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.port > 0
    with socket.create_connection(("127.0.0.1", fake.port), timeout=2):
        pass
    t0 = time.perf_counter()
    fake.stop()
    stopped = time.perf_counter() - t0
    assert started < 0.5 and stopped < 0.5
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", fake.port), timeout=2):
        pass


def test_stop_closes_idle_keep_alive_connections() -> None:
    fake = FakeLangSmith().start()
    session = requests.Session()
    session.get(fake.base_url + "/info").raise_for_status()
    before = threading.active_count()
    t0 = time.perf_counter()
    fake.stop()
    assert time.perf_counter() - t0 < 0.5
    deadline = time.monotonic() + 2
    while threading.active_count() >= before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() < before
    session.close()


def test_base_url_needs_a_started_server() -> None:
    with pytest.raises(RuntimeError):
        _ = FakeLangSmith().base_url


def test_session_reuses_one_connection_and_every_answer_has_content_length(
    ls: FakeLangSmith, ls_http: requests.Session
) -> None:
    queue = ls.queue_ids[0]
    for offset in (0, 100, 200):
        response = ls_http.get(f"{ls.base_url}/api/v1/annotation-queues/{queue}/runs", params={"offset": offset})
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == len(response.content)
    missing = ls_http.get(f"{ls.base_url}/nope")
    assert missing.status_code == 404 and missing.headers["Content-Length"] == str(len(missing.content))
    assert ls.connections == 1


def test_request_log_is_complete_under_concurrency(ls: FakeLangSmith) -> None:
    def worker() -> None:
        with requests.Session() as session:
            for _ in range(25):
                session.get(ls.base_url + "/api/v1/annotation-queues", headers={"X-API-Key": ls.api_key})

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = ls.requests
    assert ls.request_count == len(log) == 100
    assert sorted(r.n for r in log) == list(range(1, 101))
    assert all(r.status == 200 and r.path == "/api/v1/annotation-queues" for r in log)
    assert log[0].headers["X-API-Key"] == ls.api_key
    assert ls.count("/api/v1/annotation-queues", method="GET") == 100
    ls.clear_log()
    assert ls.request_count == 0 and ls.requests == []


def test_log_keeps_query_and_body(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[0]
    run_id = ls.runs_by_queue[ls.queue_ids[1]][0]
    ls_http.post(f"{ls.base_url}/api/v1/annotation-queues/{queue}/runs", json=[run_id]).raise_for_status()
    ls_http.get(f"{ls.base_url}/api/v1/annotation-queues/{queue}/runs", params={"limit": 5, "offset": 10})
    post, get = ls.requests[-2:]
    assert post.method == "POST" and post.body == f'["{run_id}"]'.encode()
    assert get.query == {"limit": ["5"], "offset": ["10"]}


def test_same_seed_same_data_and_other_seed_other_data() -> None:
    a, b, c = FakeLangSmith(seed=1), FakeLangSmith(seed=1), FakeLangSmith(seed=2)
    assert a.runs_by_queue == b.runs_by_queue and a.api_key == b.api_key
    assert a.all_run_ids().isdisjoint(c.all_run_ids())
    f1, f2 = FakeFoundry(seed=1), FakeFoundry(seed=1)
    assert f1.runs_by_studio == f2.runs_by_studio
    l1, l2 = FakeLabelStudio(seed=3), FakeLabelStudio(seed=3)
    assert l1.inference_runs(11, 23) == l2.inference_runs(11, 23) and l1.pat == l2.pat


def test_repr_never_shows_credentials() -> None:
    with FakeLangSmith() as fake:
        assert repr(fake) == f"<FakeLangSmith 127.0.0.1:{fake.port}>" and fake.api_key not in repr(fake)
    assert repr(fake) == "<FakeLangSmith stopped>"
