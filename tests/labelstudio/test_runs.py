"""Prompts inference runs: mapping, the listing shapes, fan-out with the project filter, resume, create and cancel."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import pytest
import responses
from responses import matchers
from runtrack_labelstudio import ENTERPRISE_ONLY, KIND, LabelStudioAdapter
from runtrack_labelstudio.listings import rebase_link
from runtrack_labelstudio.mapping import make_run_parser

import runtrack

from .helpers import BASE, add_html_404, examples

EX = examples()
PROMPTS = f"{BASE}/api/prompts/"


def versions_url(p: int) -> str:
    return f"{BASE}/api/prompts/{p}/versions"


def runs_url(p: int, v: int) -> str:
    return f"{BASE}/api/prompts/{p}/versions/{v}/inference-runs"


def run_item(run_id: int, p: int = 11, v: int = 23, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {**copy.deepcopy(EX["run"]), "id": run_id, "parent_model": p, "model_version": v}
    item.update(fields)
    return item


def parse(item: Any) -> runtrack.Run:
    return make_run_parser("ls.example.test", "11", "23")(item)


# --------------------------------------------------------------------------- mapping


def test_current_run_shape_maps_every_field() -> None:
    item = EX["run"]
    run = parse(item)
    assert run.platform == "labelstudio" and run.kind == KIND == "prompt_inference_run"
    assert run.native_id == "42" and run.instance == "ls.example.test"
    assert run.uid == runtrack.model.make_uid("labelstudio", "ls.example.test", KIND, "42")
    assert run.status is runtrack.RunStatus.SUCCEEDED and run.status_raw == "Completed"
    assert run.created_at == datetime(2025, 3, 2, 10, 15, 4, 512345, tzinfo=timezone.utc)
    assert run.started_at == datetime(2025, 3, 2, 10, 15, 5, 1200, tzinfo=timezone.utc)
    assert run.ended_at == datetime(2025, 3, 2, 10, 19, 41, tzinfo=timezone.utc)
    assert run.duration is not None and run.duration.total_seconds() == pytest.approx(275.9988)
    assert run.created_by == runtrack.Actor(id="4", username="ana", email="ana@example.com")
    assert run.scope == {"prompt": "11", "version": "23", "project": "7"}
    assert run.metrics == {"tasks": 200, "predictions": 200, "correct": 173, "accuracy": 173 / 200}
    assert run.parent_uid is None and run.error is None
    assert run.raw is item
    assert runtrack.load_run(json.loads(json.dumps(runtrack.dump_run(run)))) == run


def test_old_shape_created_by_int_and_no_model_version() -> None:
    run = make_run_parser("ls.example.test", "11", "23")(EX["run_old_shape"])
    assert run.created_by == runtrack.Actor(id="4")
    assert run.scope == {"prompt": "11", "version": "23", "project": "7"}  # version from the listing
    assert run.status is runtrack.RunStatus.RUNNING and run.ended_at is None
    assert run.metrics == {"tasks": 200, "predictions": 0, "correct": 0}  # no accuracy without predictions


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Pending", runtrack.RunStatus.QUEUED),
        ("InProgress", runtrack.RunStatus.RUNNING),
        ("Completed", runtrack.RunStatus.SUCCEEDED),
        ("Failed", runtrack.RunStatus.FAILED),
        ("Canceled", runtrack.RunStatus.CANCELED),
        ("Paused", runtrack.RunStatus.UNKNOWN),
        (None, runtrack.RunStatus.UNKNOWN),
    ],
)
def test_status_table(raw: str | None, status: runtrack.RunStatus) -> None:
    run = parse(run_item(1, status=raw))
    assert run.status is status and run.status_raw == raw


def test_null_creator_missing_counters_and_a_re_evaluation() -> None:
    item = run_item(5, created_by=None, source_model_run=42, project=None, triggered_at=None)
    for key in ("total_tasks", "total_predictions", "total_correct_predictions"):
        del item[key]
    run = parse(item)
    assert run.created_by is None and run.started_at is None
    assert run.metrics == {}  # unknown counts are absent, never 0
    assert run.scope == {"prompt": "11", "version": "23"}
    assert run.parent_uid == parse(run_item(42)).uid


def test_creators_are_shared_but_never_confused() -> None:
    parse_one = make_run_parser("ls.example.test", "11", "23")
    a, b = parse_one(run_item(1)), parse_one(run_item(2))
    assert a.created_by is b.created_by  # one Actor per user, not per run
    assert parse_one(run_item(3, created_by=1)).created_by == runtrack.Actor(id="1")
    assert parse_one(run_item(4, created_by="1")).created_by == runtrack.Actor(id="1")
    with pytest.raises(runtrack.PayloadError):
        parse_one(run_item(5, created_by=True))  # equal to 1 as a dict key, still not a user id
    with pytest.raises(runtrack.PayloadError):
        parse_one(run_item(6, created_by=1.0))
    other = parse_one(run_item(7, created_by={"id": 4, "username": "bo", "email": None}))
    assert other.created_by == runtrack.Actor(id="4", username="bo")


def test_naive_and_offset_timestamps_become_utc() -> None:
    run = parse(run_item(1, created_at="2025-03-02T10:15:04", completed_at="2025-03-02T12:19:41+02:00"))
    assert run.created_at == datetime(2025, 3, 2, 10, 15, 4, tzinfo=timezone.utc)
    assert run.ended_at == datetime(2025, 3, 2, 10, 19, 41, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("created_at", "yesterday", "$.created_at"),
        ("total_predictions", "many", "$.total_predictions"),
        ("total_tasks", -1, "$.total_tasks"),
        ("created_by", [4], "$.created_by"),
        ("id", None, "$.id"),
    ],
)
def test_unreadable_values_name_their_path(field: str, value: Any, path: str) -> None:
    with pytest.raises(runtrack.PayloadError) as info:
        parse(run_item(1, **{field: value}))
    assert info.value.path == path


# --------------------------------------------------------------------------- one version


@responses.activate
def test_runs_of_one_version_push_the_filters_down(legacy: LabelStudioAdapter) -> None:
    responses.get(
        runs_url(11, 23),
        json=[run_item(1), run_item(2, status="Failed")],
        match=[matchers.query_param_matcher({"project": "7", "project_subset": "HasGT"})],
    )
    runs = list(legacy.runs(prompt_id=11, version_id="23", project=7, project_subset="HasGT"))
    assert [(r.native_id, r.status) for r in runs] == [
        ("1", runtrack.RunStatus.SUCCEEDED),
        ("2", runtrack.RunStatus.FAILED),
    ]
    assert len(responses.calls) == 1


@responses.activate
def test_old_single_object_shape_and_empty_array(legacy: LabelStudioAdapter) -> None:
    responses.get(runs_url(11, 23), json=EX["run_old_shape"])
    responses.get(runs_url(11, 24), json=[])
    assert [r.native_id for r in legacy.runs(prompt_id=11, version_id=23)] == ["41"]
    assert list(legacy.runs(prompt_id=11, version_id=24)) == []


@responses.activate
def test_bad_item_error_names_its_place_and_a_cursor(legacy: LabelStudioAdapter) -> None:
    responses.get(runs_url(11, 23), json=[run_item(1), run_item(2, created_at="not a date")])
    with pytest.raises(runtrack.PayloadError) as info:
        list(legacy.runs(prompt_id=11, version_id=23))
    assert info.value.path == "$[1].created_at" and info.value.cursor is not None


@responses.activate
def test_runs_that_are_not_an_array_are_an_error(legacy: LabelStudioAdapter) -> None:
    responses.get(versions_url(11), json={"detail": "odd"})
    with pytest.raises(runtrack.PayloadError, match="expected a JSON array or an object with 'results'"):
        list(legacy.runs(prompt_id=11))


# --------------------------------------------------------------------------- fan-out


def add_tree(project: str | None = None) -> None:
    """Prompts 11 (versions 23, 24) and 12 (version 30); prompt 12 has no runs."""
    query = {"project": project} if project else {}
    match = [matchers.query_param_matcher(query)]
    responses.get(versions_url(11), json=[{**EX["version"], "id": 23}, {**EX["version_old_score"], "id": 24}])
    responses.get(versions_url(12), json=[{**EX["version"], "id": 30, "parent_model": 12}])
    responses.get(runs_url(11, 23), json=[run_item(1), run_item(2)], match=match)
    responses.get(runs_url(11, 24), json=[run_item(3, v=24)], match=match)
    responses.get(runs_url(12, 30), json=[], match=match)


@responses.activate
def test_fan_out_over_a_plain_prompt_array(legacy: LabelStudioAdapter) -> None:
    responses.get(PROMPTS, json=[{**EX["prompt"], "id": 11}, {**EX["prompt"], "id": 12}])
    add_tree(project="7")
    runs = list(legacy.runs(project=7))
    assert [(r.native_id, r.scope["prompt"], r.scope["version"]) for r in runs] == [
        ("1", "11", "23"),
        ("2", "11", "23"),
        ("3", "11", "24"),
    ]
    assert all(r.scope["project"] == "7" for r in runs)


@responses.activate
@pytest.mark.parametrize("scope", [{}, {"prompt_id": 11}])
def test_concurrent_fan_out_keeps_order_and_cursors(scope: dict[str, Any]) -> None:
    responses.get(PROMPTS, json=[{"id": 11}, {"id": 12}])
    add_tree()
    sequential = LabelStudioAdapter(base_url=BASE, api_key="0" * 40, environ={})
    parallel = LabelStudioAdapter(base_url=BASE, api_key="0" * 40, environ={}, concurrency=4)
    pages = [(p.cursor, p.next_cursor, [r.uid for r in p.items]) for p in sequential.runs(**scope).pages()]
    assert [(p.cursor, p.next_cursor, [r.uid for r in p.items]) for p in parallel.runs(**scope).pages()] == pages
    with pytest.raises(runtrack.ConfigurationError, match="concurrency"):
        LabelStudioAdapter(base_url=BASE, api_key="0" * 40, environ={}, concurrency=0)


@responses.activate
def test_fan_out_over_paginated_prompts_with_absolute_next_links(legacy: LabelStudioAdapter) -> None:
    responses.get(
        PROMPTS,
        json={"count": 2, "next": f"{PROMPTS}?page=2", "previous": None, "results": [{**EX["prompt"], "id": 11}]},
        match=[matchers.query_param_matcher({})],
    )
    responses.get(
        PROMPTS,
        json={"count": 2, "next": None, "previous": PROMPTS, "results": [{**EX["prompt"], "id": 12}]},
        match=[matchers.query_param_matcher({"page": "2"})],
    )
    add_tree()
    assert [r.native_id for r in legacy.runs()] == ["1", "2", "3"]
    prompt_pages = [c.request.url for c in responses.calls if c.request.url.startswith(PROMPTS + "?")]
    assert prompt_pages == [f"{PROMPTS}?page=2"]  # followed as given, after prompt 11's runs (lazily)


@responses.activate
def test_next_link_to_another_origin_is_rebased_onto_the_base_url(legacy: LabelStudioAdapter) -> None:
    """A server behind a proxy may not know its public URL; the token must not go to its internal host."""
    responses.get(
        PROMPTS,
        json={"count": 2, "next": "http://10.0.0.5:8080/api/prompts/?page=2", "results": [{"id": 11}]},
        match=[matchers.query_param_matcher({})],
    )
    responses.get(
        PROMPTS,
        json={"count": 2, "next": None, "results": [{"id": 12}]},
        match=[matchers.query_param_matcher({"page": "2"})],
    )
    add_tree()
    assert len(list(legacy.runs())) == 3
    assert all("10.0.0.5" not in c.request.url for c in responses.calls)
    assert f"{PROMPTS}?page=2" in [c.request.url for c in responses.calls]


@responses.activate
def test_fan_out_over_the_versions_of_one_prompt(legacy: LabelStudioAdapter) -> None:
    add_tree(project="7")
    runs = list(legacy.runs(prompt_id=11, project=7))
    assert [(r.native_id, r.scope["version"]) for r in runs] == [("1", "23"), ("2", "23"), ("3", "24")]
    assert not any(c.request.url.startswith(PROMPTS + "?") or c.request.url == PROMPTS for c in responses.calls)


@responses.activate
def test_resume_inside_the_fan_out_from_a_saved_cursor(legacy: LabelStudioAdapter) -> None:
    responses.get(PROMPTS, json=[{"id": 11}, {"id": 12}])
    add_tree()
    pages = legacy.runs().pages()
    first = next(pages)
    assert [r.native_id for r in first.items] == ["1", "2"] and first.next_cursor is not None
    again = LabelStudioAdapter(base_url=BASE, api_key="0" * 40, environ={})
    assert [r.native_id for r in again.runs(cursor=first.next_cursor)] == ["3"]
    with pytest.raises(runtrack.PaginationError, match="belongs to the listing"):
        list(again.runs(project=7, cursor=first.next_cursor))


@responses.activate
def test_max_items_stops_the_fan_out_early(legacy: LabelStudioAdapter) -> None:
    responses.get(PROMPTS, json=[{"id": 11}, {"id": 12}])
    add_tree()
    assert [r.native_id for r in legacy.runs(max_items=2)] == ["1", "2"]
    assert all("/12/" not in c.request.url for c in responses.calls)


@responses.activate
def test_prompt_without_id_is_a_payload_error(legacy: LabelStudioAdapter) -> None:
    responses.get(PROMPTS, json={"count": 2, "next": None, "results": [{"id": 11}, {"title": "no id"}]})
    with pytest.raises(runtrack.PayloadError, match="no id") as info:
        list(legacy.runs())
    assert info.value.path == "$.results[1]"


@responses.activate
def test_count_without_next_link_is_not_a_silent_end(legacy: LabelStudioAdapter) -> None:
    responses.get(PROMPTS, json={"count": 5, "next": None, "results": [{"id": 11}]})
    responses.get(versions_url(11), json=[])
    with pytest.raises(runtrack.PaginationError, match="count=5"):
        list(legacy.runs())


# --------------------------------------------------------------------------- Community Edition and 404s


@responses.activate
def test_community_edition_says_prompts_need_enterprise(legacy: LabelStudioAdapter) -> None:
    add_html_404("GET", PROMPTS)
    with pytest.raises(runtrack.NotFoundError) as info:
        list(legacy.runs())
    err = info.value
    assert ENTERPRISE_ONLY in str(err) and "Label Studio Enterprise" in str(err)
    assert err.status_code == 404 and err.cursor is not None
    assert "<" not in str(err) and len(str(err)) < 500


@responses.activate
def test_community_edition_on_a_direct_version_listing(legacy: LabelStudioAdapter) -> None:
    add_html_404("GET", runs_url(1, 1))
    with pytest.raises(runtrack.NotFoundError, match="Prompts need Label Studio Enterprise"):
        list(legacy.runs(prompt_id=1, version_id=1))


@responses.activate
def test_enterprise_unknown_version_is_a_json_404(legacy: LabelStudioAdapter) -> None:
    responses.get(runs_url(11, 99), json=EX["enterprise_not_found"], status=404)
    with pytest.raises(runtrack.NotFoundError) as info:
        list(legacy.runs(prompt_id=11, version_id=99))
    assert "Not found. (unknown prompt, version or inference run)" in str(info.value)
    assert "Enterprise" not in str(info.value)


# --------------------------------------------------------------------------- scope checks (no I/O)


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({"version_id": 3}, "version_id needs prompt_id"),
        ({"project_subset": "Everything"}, "project_subset must be one of All, HasGT, Sample, Custom"),
        ({"queue_id": "q"}, "unknown scope keyword"),
        ({"prompt_id": "eleven"}, "prompt_id must be an integer id"),
        ({"project": True}, "project must be an integer id"),
    ],
)
def test_bad_scope_is_a_configuration_error(legacy: LabelStudioAdapter, scope: dict[str, Any], message: str) -> None:
    with responses.RequestsMock() as mock, pytest.raises(runtrack.ConfigurationError, match=message):
        legacy.runs(**scope)
    assert len(mock.calls) == 0


# --------------------------------------------------------------------------- create and cancel


@responses.activate
def test_create_run_posts_the_body_and_returns_the_queued_run(legacy: LabelStudioAdapter) -> None:
    responses.post(runs_url(11, 23), json=EX["created_run"], status=201)
    run = legacy.create_run(
        prompt_id=11, version_id=23, project="7", project_subset="Sample", sample_subset_size=50, job_id=None
    )
    assert json.loads(responses.calls[0].request.body) == {
        "project": 7,
        "project_subset": "Sample",
        "sample_subset_size": 50,
    }
    assert run.native_id == "43" and run.status is runtrack.RunStatus.QUEUED
    assert run.scope == {"prompt": "11", "version": "23", "project": "7"}
    assert "accuracy" not in run.metrics


@responses.activate
def test_create_run_is_not_retried(legacy: LabelStudioAdapter) -> None:
    responses.post(runs_url(11, 23), body="", status=503)
    with pytest.raises(runtrack.ServerError):
        legacy.create_run(prompt_id=11, version_id=23, project=7)
    assert len(responses.calls) == 1


@responses.activate
def test_create_run_on_community_edition(legacy: LabelStudioAdapter) -> None:
    add_html_404("POST", runs_url(1, 1))
    with pytest.raises(runtrack.NotFoundError, match="Prompts need Label Studio Enterprise"):
        legacy.create_run(prompt_id=1, version_id=1, project=1)


@responses.activate
def test_cancel_run(legacy: LabelStudioAdapter) -> None:
    responses.get(runs_url(11, 23), json=[run_item(42, status="InProgress")])
    cancel = responses.post(f"{runs_url(11, 23)}/42/cancel", json=EX["cancel"])
    (run,) = legacy.runs(prompt_id=11, version_id=23)
    assert legacy.cancel_run(run) is None
    assert cancel.call_count == 1 and not responses.calls[1].request.body


def test_cancel_run_refuses_foreign_runs(legacy: LabelStudioAdapter) -> None:
    mine = parse(run_item(1))
    other_host = LabelStudioAdapter(base_url="https://other.example.test", api_key="0" * 40, environ={})
    with pytest.raises(runtrack.ConfigurationError, match="belongs to Label Studio at ls.example.test"):
        other_host.cancel_run(mine)
    foreign = runtrack.Run(platform="langsmith", instance="ls.example.test", kind="run", native_id="1")
    with pytest.raises(runtrack.ConfigurationError, match="takes a Label Studio prompt_inference_run"):
        legacy.cancel_run(foreign)
    no_scope = runtrack.Run(platform="labelstudio", instance="ls.example.test", kind=KIND, native_id="1")
    with pytest.raises(runtrack.ConfigurationError, match="no prompt/version"):
        legacy.cancel_run(no_scope)


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (f"{PROMPTS}?page=2", f"{PROMPTS}?page=2"),  # same origin and prefix: as given
        ("https://ls.example.test/api/prompts/?page=2", "api/prompts/?page=2"),  # prefix lost by the server
        ("http://ls.example.test/ls/api/prompts/?page=2", "api/prompts/?page=2"),  # scheme rewritten by a proxy
        ("http://10.0.0.5:8080/api/prompts/?page=3&page_size=1", "api/prompts/?page=3&page_size=1"),
        ("/ls/api/prompts/?page=2", "api/prompts/?page=2"),
    ],
)
def test_rebase_link(link: str, expected: str) -> None:
    assert rebase_link(link, BASE) == expected


def test_rebase_link_refuses_a_foreign_non_api_url() -> None:
    with pytest.raises(runtrack.PayloadError, match="not a Label Studio API URL"):
        rebase_link("https://evil.example.test/steal?page=2", BASE)


@responses.activate
def test_a_vanished_prompts_page_is_a_clear_error_with_a_cursor(legacy: LabelStudioAdapter) -> None:
    """Prompts deleted while paging: DRF answers the next page with 404 "Invalid page."; never a silent end."""
    responses.get(
        PROMPTS,
        json={"count": 2, "next": f"{PROMPTS}?page=2", "results": [{"id": 11}]},
        match=[matchers.query_param_matcher({})],
    )
    body = {"id": "x", "status_code": 404, "version": "1.23.2", "detail": "Invalid page.", "exc_info": None}
    responses.get(PROMPTS, json=body, status=404, match=[matchers.query_param_matcher({"page": "2"})])
    add_tree()
    seen: list[str] = []
    with pytest.raises(runtrack.NotFoundError, match="Invalid page") as info:
        seen.extend(r.native_id for r in legacy.runs())
    assert seen == ["1", "2", "3"] and info.value.cursor is not None
    assert "unknown prompt" not in str(info.value)
