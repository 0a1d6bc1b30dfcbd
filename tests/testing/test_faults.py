"""Every fault knob, counted and deterministic, observed over real HTTP with plain requests."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime

import pytest
import requests

from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith, Faults, ServerErrors

QUEUES = "/api/v1/annotation-queues"


def statuses(session: requests.Session, url: str, n: int) -> list[int]:
    return [session.get(url).status_code for _ in range(n)]


def test_latency_delays_every_counted_request(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ls.faults.configure(latency=0.05)
    t0 = time.perf_counter()
    for _ in range(4):
        ls_http.get(ls.base_url + QUEUES).raise_for_status()
    assert time.perf_counter() - t0 >= 0.2


def test_rate_limit_every_kth_request_with_retry_after_seconds(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ls.faults.configure(rate_limit_every=3, retry_after=2)
    responses = [ls_http.get(ls.base_url + QUEUES) for _ in range(7)]
    assert [r.status_code for r in responses] == [200, 200, 429, 200, 200, 429, 200]
    limited = responses[2]
    assert limited.headers["Retry-After"] == "2"
    assert limited.json() == {"detail": "Rate limit exceeded"}
    assert ls.faults.injected_kinds() == ["rate_limit", "rate_limit"]
    assert [i.n for i in ls.faults.injected] == [3, 6]
    assert [r.fault for r in ls.requests] == [None, None, "rate_limit", None, None, "rate_limit", None]


def test_retry_after_http_date_and_absent(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ls.faults.configure(rate_limit_every=1, retry_after="http-date")
    header = ls_http.get(ls.base_url + QUEUES).headers["Retry-After"]
    assert parsedate_to_datetime(header).tzinfo is not None
    ls.faults.configure(retry_after=None)
    assert "Retry-After" not in ls_http.get(ls.base_url + QUEUES).headers
    ls.faults.configure(retry_after=0.5)
    assert ls_http.get(ls.base_url + QUEUES).headers["Retry-After"] == "0.5"


def test_server_error_burst_and_cycle_of_statuses(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ls.faults.configure(server_errors=ServerErrors(start=2, count=3, statuses=(502, 503)))
    assert statuses(ls_http, ls.base_url + QUEUES, 6) == [200, 502, 503, 502, 200, 200]
    ls.faults.configure(server_errors=ServerErrors(every=2, statuses=(500,)))
    assert statuses(ls_http, ls.base_url + QUEUES, 4) == [200, 500, 200, 500]


def test_503_carries_retry_after_and_server_error_beats_rate_limit(
    ls: FakeLangSmith, ls_http: requests.Session
) -> None:
    ls.faults.configure(rate_limit_every=2, server_errors=ServerErrors(every=4), retry_after=1)
    responses = [ls_http.get(ls.base_url + QUEUES) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 429, 200, 503]
    assert responses[3].headers["Retry-After"] == "1"


def test_reset_every_closes_the_connection_without_an_answer(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ls.faults.configure(reset_every=2)
    assert ls_http.get(ls.base_url + QUEUES).status_code == 200
    with pytest.raises(requests.ConnectionError):
        ls_http.get(ls.base_url + QUEUES)
    assert ls_http.get(ls.base_url + QUEUES).status_code == 200  # a new connection works again
    assert ls.connections == 2
    assert ls.requests[1].status is None and ls.requests[1].fault == "reset"


def test_truncate_every_sends_half_a_json_body_with_200(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ls.faults.configure(truncate_every=2)
    whole = ls_http.get(ls.base_url + QUEUES)
    cut = ls_http.get(ls.base_url + QUEUES)
    assert whole.status_code == cut.status_code == 200
    assert len(cut.content) == len(whole.content) // 2
    assert whole.content.startswith(cut.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    assert ls.faults.injected_kinds() == ["truncate"]


def test_truncate_connection_mode_breaks_the_transfer(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ls.faults.configure(truncate_every=1, truncate_mode="connection")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        ls_http.get(ls.base_url + QUEUES)


def test_truncate_skips_errors_and_empty_bodies(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    lst.faults.configure(truncate_every=1)
    train = lst_http.post(lst.base_url + "/api/ml/3/train")
    assert train.status_code == 200 and train.content == b""
    missing = lst_http.get(lst.base_url + "/api/prompts/999/versions")
    assert missing.status_code == 404 and missing.json()["detail"] == "Not found."
    assert lst.faults.injected == []


def test_html_errors_turn_json_errors_into_html_pages(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ls.faults.configure(html_errors=True, rate_limit_every=2, retry_after=3)
    ok = ls_http.get(ls.base_url + QUEUES)
    limited = ls_http.get(ls.base_url + QUEUES)
    denied = requests.get(ls.base_url + QUEUES)
    assert ok.headers["Content-Type"] == "application/json"
    assert limited.status_code == 429 and limited.headers["Content-Type"].startswith("text/html")
    assert b"<title>429 Too Many Requests</title>" in limited.content
    assert limited.headers["Retry-After"] == "3"
    assert denied.status_code == 401 and denied.text.lstrip().startswith("<html>")


def test_path_prefix_limits_what_is_counted(fd: FakeFoundry, fd_http: requests.Session) -> None:
    rid = fd.studio_rids[0]
    runs = f"{fd.base_url}/api/v2/models/modelStudios/{rid}/runs"
    build_rid = fd.studio_runs(rid)[0]["buildRid"]
    fd.faults.configure(path_prefix="/api/v2/models/modelStudios/", rate_limit_every=2)
    assert fd_http.get(runs, params={"preview": "true"}).status_code == 200
    assert fd_http.get(f"{fd.base_url}/api/v2/orchestration/builds/{build_rid}").status_code == 200  # not counted
    assert fd_http.get(runs, params={"preview": "true"}).status_code == 429
    assert fd.faults.count == 2


def test_foundry_throttling_has_an_empty_body(fd: FakeFoundry, fd_http: requests.Session) -> None:
    fd.faults.configure(rate_limit_every=1)
    response = fd_http.get(f"{fd.base_url}/api/v2/models/modelStudios/{fd.studio_rids[0]}/runs")
    assert response.status_code == 429 and response.content == b""


def test_labelstudio_throttling_uses_its_error_envelope(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    lst.faults.configure(rate_limit_every=1)
    body = lst_http.get(lst.base_url + "/api/prompts/").json()
    assert body["status_code"] == 429 and body["detail"] == "Request was throttled."


def test_repeat_token_answers_an_already_used_token(fd: FakeFoundry, fd_http: requests.Session) -> None:
    fd.faults.configure(repeat_token=2)
    url = f"{fd.base_url}/api/v2/models/modelStudios/{fd.studio_rids[0]}/runs"
    first = fd_http.get(url, params={"preview": "true", "pageSize": "50"}).json()
    sent = [first["nextPageToken"]]
    second = fd_http.get(url, params={"preview": "true", "pageSize": "50", "pageToken": sent[-1]}).json()
    sent.append(second["nextPageToken"])
    third = fd_http.get(url, params={"preview": "true", "pageSize": "50", "pageToken": sent[-1]}).json()
    assert second["nextPageToken"] != sent[0]
    assert third["nextPageToken"] == sent[-1]  # the token that fetched this very page
    assert fd.faults.injected_kinds() == ["repeat_token"]


def test_offset_drift_repeats_items_across_offset_pages(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[0]
    original = ls.runs_by_queue[queue]
    ls.faults.configure(offset_drift=3)
    seen: list[str] = []
    offset = 0
    while True:
        page = ls_http.get(
            f"{ls.base_url}/api/v1/annotation-queues/{queue}/runs", params={"offset": offset, "limit": 100}
        ).json()
        seen += [row["id"] for row in page]
        if len(page) < 100:
            break
        offset += 100
    assert len(seen) - len(set(seen)) == 3 * (len(seen) // 100)  # k repeats after each full page
    assert set(original) <= set(seen)  # head inserts repeat items, they never hide old ones
    assert ls.drift_inserted == 3 * ls.faults.injected_kinds().count("offset_drift")
    assert len(ls.runs_by_queue[queue]) == len(original) + ls.drift_inserted


def test_configure_restarts_counters_and_rejects_unknown_knobs() -> None:
    faults = Faults(rate_limit_every=2)
    assert [faults.decide("GET", "/x").status for _ in range(2)] == [None, 429]  # type: ignore[union-attr]
    faults.configure(latency=0.0)
    assert faults.count == 0 and faults.injected == []
    with pytest.raises(TypeError, match="unknown fault knob"):
        faults.configure(rate_limit=1)
    faults.clear()
    assert faults.rate_limit_every is None and faults.count == 0


def test_faults_object_can_be_passed_in_and_changed_while_serving() -> None:
    faults = Faults()
    with FakeLangSmith(faults=faults) as fake, requests.Session() as session:
        session.headers["X-API-Key"] = fake.api_key
        assert session.get(fake.base_url + QUEUES).status_code == 200
        faults.rate_limit_every = 1
        assert session.get(fake.base_url + QUEUES).status_code == 429
        faults.clear()
        assert session.get(fake.base_url + QUEUES).status_code == 200
