"""FakeLangSmith over real HTTP: auth, queues, queue runs (offset/limit), items (cursor), run queries."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import requests

from runtrack.testing import FakeLangSmith

NAIVE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def runs_url(ls: FakeLangSmith, queue: str) -> str:
    return f"{ls.base_url}/api/v1/annotation-queues/{queue}/runs"


def items_url(ls: FakeLangSmith, queue: str) -> str:
    return f"{ls.base_url}/api/v1/platform/annotation-queues/{queue}/items"


def all_offset_pages(session: requests.Session, url: str, limit: int = 100, **params: Any) -> list[Any]:
    rows: list[Any] = []
    offset = 0
    while True:
        page = session.get(url, params={"offset": offset, "limit": limit, **params})
        assert page.status_code == 200, page.text
        rows += page.json()
        if len(page.json()) < limit:
            return rows
        offset += limit


def all_items(session: requests.Session, url: str, **params: Any) -> tuple[list[Any], int]:
    items: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = session.get(url, params=query).json()
        pages += 1
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items, pages


# -- auth ---------------------------------------------------------------------------------------


def test_missing_or_wrong_key_is_401_fastapi_detail(ls: FakeLangSmith) -> None:
    for headers in ({}, {"X-API-Key": "lsv2_pt_wrong"}):
        response = requests.get(ls.base_url + "/api/v1/annotation-queues", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token"}


def test_org_scoped_key_needs_the_tenant_header(ls: FakeLangSmith) -> None:
    url = ls.base_url + "/api/v1/annotation-queues"
    without = requests.get(url, headers={"X-API-Key": ls.org_api_key})
    assert without.status_code == 403
    assert without.json()["error"] == "org_scoped_key_requires_workspace"
    ok = requests.get(url, headers={"X-API-Key": ls.org_api_key, "X-Tenant-Id": ls.tenant_id})
    assert ok.status_code == 200
    other = requests.get(url, headers={"X-API-Key": ls.org_api_key, "X-Tenant-Id": ls.project_ids[0]})
    assert other.status_code == 403


def test_info_is_public(ls: FakeLangSmith) -> None:
    assert requests.get(ls.base_url + "/info").json()["instance_flags"]["sdb_query_enabled"] is True


# -- queues -------------------------------------------------------------------------------------


def test_list_queues_offset_limit_and_422(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    url = ls.base_url + "/api/v1/annotation-queues"
    queues = ls_http.get(url).json()
    assert [q["id"] for q in queues] == ls.queue_ids
    assert all(q["total_runs"] == 250 and NAIVE.match(q["created_at"]) for q in queues)
    assert [q["id"] for q in ls_http.get(url, params={"offset": 1, "limit": 1}).json()] == ls.queue_ids[1:2]
    for bad, kind in (("101", "less_than_equal"), ("0", "greater_than_equal"), ("x", "int_parsing")):
        response = ls_http.get(url, params={"limit": bad})
        assert response.status_code == 422
        assert response.json()["detail"][0]["type"] == kind
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]
    assert ls_http.get(url, params={"name_contains": queues[1]["name"][:6]}).json()[0]["id"] == ls.queue_ids[1]


def test_hand_written_client_paths_without_prefix_work(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[0]
    assert ls_http.get(f"{ls.base_url}/annotation-queues/{queue}/runs", params={"limit": 3}).status_code == 200
    assert ls_http.get(f"{ls.base_url}/annotation-queues/{queue}").json()["id"] == queue


def test_unknown_and_malformed_queue_ids(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    unknown = ls_http.get(runs_url(ls, "00000000-0000-4000-8000-000000000000"))
    assert unknown.status_code == 404 and "detail" in unknown.json()
    malformed = ls_http.get(runs_url(ls, "not-a-uuid"))
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["path", "queue_id"]


# -- GET .../runs ---------------------------------------------------------------------------------


def test_offset_pages_end_on_a_short_page_and_match_ground_truth(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    for queue in ls.queue_ids:
        rows = all_offset_pages(ls_http, runs_url(ls, queue))
        ids = [row["id"] for row in rows]
        assert ids == ls.runs_by_queue[queue]
        assert len(ids) == len(set(ids)) == 250
    total = sum(len(v) for v in ls.runs_by_queue.values())
    assert len(ls.all_run_ids()) == total == 750


def test_exact_multiple_ends_with_an_empty_page(ls_http: requests.Session) -> None:
    with FakeLangSmith(queues=1, runs_per_queue=200) as fake:
        ls_http.headers["X-API-Key"] = fake.api_key
        url = runs_url(fake, fake.queue_ids[0])
        assert len(ls_http.get(url, params={"offset": 100, "limit": 100}).json()) == 100
        assert ls_http.get(url, params={"offset": 200, "limit": 100}).json() == []


def test_limit_above_100_is_422(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    response = ls_http.get(runs_url(ls, ls.queue_ids[0]), params={"limit": 500})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "less_than_equal",
                "loc": ["query", "limit"],
                "msg": "Input should be less than or equal to 100",
                "input": "500",
                "ctx": {"le": 100},
            }
        ]
    }
    assert ls_http.get(runs_url(ls, ls.queue_ids[0]), params={"offset": -1}).status_code == 422


def test_rows_look_like_vendor_apis_2_2(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    rows = ls.queue_runs(ls.queue_ids[0]) + ls.queue_runs(ls.queue_ids[1])
    required = {
        "id",
        "name",
        "run_type",
        "trace_id",
        "dotted_order",
        "status",
        "session_id",
        "app_path",
        "queue_run_id",
    }
    assert all(required <= row.keys() for row in rows)
    assert all(NAIVE.match(row["added_at"]) for row in rows)
    starts = [row["start_time"] for row in rows]
    assert None in starts and all(s is None or NAIVE.match(s) for s in starts)  # naive, no Z, some null
    assert any(row["inputs"] is None for row in rows) and any(row["outputs"] is None for row in rows)
    statuses = Counter(row["status"] for row in rows)
    assert {"success", "error", "pending"} <= statuses.keys()
    assert statuses.keys() - {"success", "error", "pending"}  # a few odd ones
    costly = [row for row in rows if row["total_cost"] is not None]
    assert costly and all(isinstance(row["total_cost"], str) for row in costly)
    assert all(Decimal(r["prompt_cost"]) + Decimal(r["completion_cost"]) == Decimal(r["total_cost"]) for r in costly)
    assert all(r["total_tokens"] == r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    children = [row for row in rows if row["parent_run_id"]]
    assert children and all(r["trace_id"] == r["parent_run_id"] and "." in r["dotted_order"] for r in children)
    assert all(r["app_path"].startswith("/o/") and r["id"] in r["app_path"] for r in rows)
    assert any(r["completed_by"] for r in rows) and any(r["last_reviewed_time"] for r in rows)
    size = len(ls_http.get(runs_url(ls, ls.queue_ids[0]), params={"limit": 100}).content) / 100
    assert 3000 < size < 9000  # ~5 KB per run


def test_status_and_archived_filters_partition_the_queue(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[0]
    everything = set(ls.runs_by_queue[queue])
    parts = {
        s: {r["id"] for r in all_offset_pages(ls_http, runs_url(ls, queue), status=s)}
        for s in ("needs_my_review", "needs_others_review", "completed")
    }
    assert set().union(*parts.values()) == everything
    assert sum(map(len, parts.values())) == len(everything)
    archived = {r["id"] for r in all_offset_pages(ls_http, runs_url(ls, queue), archived="true")}
    assert archived == parts["completed"]
    rows = all_offset_pages(ls_http, runs_url(ls, queue), status="completed")
    assert all(r["completed_by"] for r in rows)
    assert ls_http.get(runs_url(ls, queue), params={"status": "done"}).status_code == 422
    assert ls_http.get(runs_url(ls, queue), params={"archived": "maybe"}).status_code == 422


def test_retired_runs_endpoint_answers_404_or_410(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[0]
    ls.runs_endpoint_status = 410
    assert ls_http.get(runs_url(ls, queue)).status_code == 410
    ls.runs_endpoint_status = 404
    gone = ls_http.get(runs_url(ls, queue))
    assert gone.status_code == 404 and gone.json() == {"detail": "Not Found"}
    assert ls_http.get(items_url(ls, queue), params={"status": "archived"}).status_code == 200


# -- POST .../runs --------------------------------------------------------------------------------


def test_add_runs_takes_an_array_and_is_idempotent(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    target, source = ls.queue_ids[0], ls.queue_ids[1]
    ids = ls.runs_by_queue[source][:2]
    added = ls_http.post(runs_url(ls, target), json=[ids[0], {"run_id": ids[1]}])
    assert added.status_code == 200
    body = added.json()
    assert [e["run_id"] for e in body] == ids and all(e["queue_id"] == target for e in body)
    assert ls.runs_by_queue[target][:2] == ids[::-1]  # newest first
    again = ls_http.post(runs_url(ls, target), json=ids).json()
    assert [e["id"] for e in again] == [e["id"] for e in body]
    assert len(ls.runs_by_queue[target]) == 252
    assert ls_http.post(runs_url(ls, target), json={"run_id": ids[0]}).status_code == 422
    assert ls_http.post(runs_url(ls, target), json=["nope"]).status_code == 422
    assert ls_http.post(runs_url(ls, target), json=["00000000-0000-4000-8000-000000000000"]).status_code == 404


# -- GET /api/v1/platform/annotation-queues/{id}/items ----------------------------------------------


def test_items_cursor_pages_cover_each_section_once(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[2]
    union: list[str] = []
    for status in ("needs_my_review", "needs_others_review", "archived"):
        items, pages = all_items(ls_http, items_url(ls, queue), status=status, page_size=30)
        assert pages == -(-len(items) // 30) or pages == len(items) // 30 + 1
        union += [i["run_id"] for i in items]
        assert all(i["item_type"] == "RUN" and i["start_time"].endswith("Z") for i in items)
    assert sorted(union) == sorted(ls.runs_by_queue[queue])
    archived, _ = all_items(ls_http, items_url(ls, queue), status="archived")
    completed = {r["id"] for r in all_offset_pages(ls_http, runs_url(ls, queue), status="completed")}
    assert {i["run_id"] for i in archived} == completed


def test_items_validation(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    url = items_url(ls, ls.queue_ids[0])
    missing = ls_http.get(url)
    assert missing.status_code == 422 and missing.json()["detail"][0]["type"] == "missing"
    assert ls_http.get(url, params={"status": "completed"}).status_code == 422  # no 'completed' section here
    assert ls_http.get(url, params={"status": "archived", "page_size": "101"}).status_code == 422
    assert ls_http.get(url, params={"status": "archived", "direction": "backward"}).status_code == 400
    assert ls_http.get(url, params={"status": "archived", "cursor": "garbage"}).status_code == 400


def test_items_backward_returns_the_previous_page(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    url = items_url(ls, ls.queue_ids[0])
    first = ls_http.get(url, params={"status": "needs_my_review", "page_size": "20"}).json()
    back = ls_http.get(
        url,
        params={
            "status": "needs_my_review",
            "page_size": "20",
            "direction": "backward",
            "cursor": first["next_cursor"],
        },
    ).json()
    assert [i["id"] for i in back["items"]] == [i["id"] for i in first["items"]]
    assert back["next_cursor"] is None


def test_thread_items_and_item_type_filter() -> None:
    with FakeLangSmith(queues=1, runs_per_queue=60, threads_per_queue=4) as fake, requests.Session() as s:
        s.headers["X-API-Key"] = fake.api_key
        url = items_url(fake, fake.queue_ids[0])
        everything = [
            i for st in ("needs_my_review", "needs_others_review", "archived") for i in all_items(s, url, status=st)[0]
        ]
        threads = [i for i in everything if i["item_type"] == "THREAD"]
        assert len(threads) == 4 and all(t["run_id"] is None and t["thread_id"] for t in threads)
        assert len(everything) == 64 == len(fake.items_by_queue[fake.queue_ids[0]])
        only = [
            i
            for st in ("needs_my_review", "needs_others_review", "archived")
            for i in all_items(s, url, status=st, item_type="THREAD")[0]
        ]
        assert {i["id"] for i in only} == {t["id"] for t in threads}
        assert len(fake.runs_by_queue[fake.queue_ids[0]]) == 60  # threads never show up in .../runs


def test_items_start_time_window(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    url = items_url(ls, ls.queue_ids[0])
    items, _ = all_items(ls_http, url, status="needs_my_review")
    starts = sorted(i["start_time"] for i in items)
    mid = starts[len(starts) // 2]
    later, _ = all_items(ls_http, url, status="needs_my_review", min_start_time=mid)
    assert {i["id"] for i in later} == {i["id"] for i in items if i["start_time"] >= mid}


def test_cursor_is_stable_under_head_inserts(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[0]
    before, _ = all_items(ls_http, items_url(ls, queue), status="needs_my_review")
    ls.faults.configure(offset_drift=5)
    during, _ = all_items(ls_http, items_url(ls, queue), status="needs_my_review", page_size=25)
    ids = [i["id"] for i in during]
    assert len(ids) == len(set(ids))
    assert [i["id"] for i in before] == ids[len(ids) - len(before) :]


# -- run queries (hydration) ----------------------------------------------------------------------

V2 = "/api/v2/runs/query"
WINDOW = {"min_start_time": "2000-01-01T00:00:00Z", "max_start_time": "2100-01-01T00:00:00Z"}


def test_v2_query_hydrates_item_ids_with_cursor_pages(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[0]
    items, _ = all_items(ls_http, items_url(ls, queue), status="needs_my_review")
    ids = [i["run_id"] for i in items]
    body: dict[str, Any] = {
        "project_ids": ls.project_ids,
        "ids": ids,
        "page_size": 40,
        "selects": ["ID", "NAME", "STATUS", "START_TIME", "INPUTS", "PROJECT_ID", "PARENT_RUN_IDS", "TOTAL_COST"],
        **WINDOW,
    }
    got: list[Any] = []
    while True:
        page = ls_http.post(ls.base_url + V2, json=body).json()
        got += page["items"]
        if "next_cursor" not in page:
            break
        assert page["next_cursor"]
        body["cursor"] = page["next_cursor"]
    assert sorted(r["id"] for r in got) == sorted(ids)
    assert {r["status"] for r in got} <= {"SUCCESS", "ERROR", "PENDING", "INTERRUPTED", "TIMEOUT"}
    assert all(
        r.keys() == {"id", "name", "status", "start_time", "inputs", "project_id", "parent_run_ids", "total_cost"}
        for r in got
    )
    assert all(r["start_time"].endswith("Z") for r in got)


def test_v2_query_defaults_to_the_last_day_and_to_ids_only(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ids = ls.runs_by_queue[ls.queue_ids[0]][:5]
    trap = ls_http.post(ls.base_url + V2, json={"project_ids": ls.project_ids, "ids": ids})
    assert trap.status_code == 200 and trap.json() == {"items": []}
    only_ids = ls_http.post(ls.base_url + V2, json={"project_ids": ls.project_ids, "ids": ids, **WINDOW}).json()
    assert sorted(r["id"] for r in only_ids["items"]) == sorted(ids)
    assert all(r.keys() == {"id"} for r in only_ids["items"])


def test_v2_query_errors_are_problem_json(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    no_project = ls_http.post(ls.base_url + V2, json={"ids": ls.runs_by_queue[ls.queue_ids[0]][:1]})
    assert no_project.status_code == 400
    assert no_project.headers["Content-Type"] == "application/problem+json"
    assert {"type", "title", "status", "detail", "instance", "remedy"} <= no_project.json().keys()
    big = ls_http.post(ls.base_url + V2, json={"project_ids": ls.project_ids, "page_size": 1001})
    assert big.status_code == 400


def test_v1_query_by_ids_with_cursors(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    ids = ls.runs_by_queue[ls.queue_ids[1]][:30]
    body: dict[str, Any] = {"id": ids, "limit": 12}
    got: list[Any] = []
    while True:
        page = ls_http.post(ls.base_url + "/api/v1/runs/query", json=body).json()
        got += page["runs"]
        if not page["cursors"]["next"]:
            break
        body["cursor"] = page["cursors"]["next"]
    assert sorted(r["id"] for r in got) == sorted(ids)
    assert got[0] == ls.run(got[0]["id"])
    assert ls_http.post(ls.base_url + "/api/v1/runs/query", json={"limit": 5}).status_code == 400
    assert ls_http.post(ls.base_url + "/api/v1/runs/query", json={"id": ids, "limit": 101}).status_code == 422


def test_shared_runs_appear_in_two_queues() -> None:
    fake = FakeLangSmith(queues=2, runs_per_queue=10, shared_runs=3)
    first, second = (fake.runs_by_queue[q] for q in fake.queue_ids)
    assert len(set(first) & set(second)) == 3
    assert len(fake.all_run_ids()) == 20


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_any_page_size_walks_the_whole_queue(limit: int, ls: FakeLangSmith, ls_http: requests.Session) -> None:
    queue = ls.queue_ids[1]
    ids = [r["id"] for r in all_offset_pages(ls_http, runs_url(ls, queue), limit=limit)]
    assert ids == ls.runs_by_queue[queue]


def test_prerender_serves_cached_bytes(ls: FakeLangSmith, ls_http: requests.Session) -> None:
    assert ls.prerender(100) > 750 * 3000
    misses = ls._cache.misses
    all_offset_pages(ls_http, runs_url(ls, ls.queue_ids[0]))
    assert ls._cache.misses == misses
