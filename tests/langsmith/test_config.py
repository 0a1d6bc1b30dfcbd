"""connect() options, environment fallbacks, base URLs, auth headers and the plugin registration."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from runtrack_langsmith import LangSmithAdapter

import runtrack

from .payloads import BASE, KEY, QUEUE, TENANT, adapter, add_runs_page, v1_row


def test_registered_through_the_entry_point_group() -> None:
    assert "langsmith" in runtrack.available_adapters()
    info = runtrack.plugins.adapter_registry()["langsmith"]
    assert info.cls is LangSmithAdapter
    assert info.plugin == "langsmith" and info.distribution == "runtrack"  # the entry point, not a fallback


def test_connect_reads_the_sdk_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LANGSMITH_API_KEY", "LANGSMITH_ENDPOINT", "LANGSMITH_WORKSPACE_ID", "LANGSMITH_TENANT_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANGCHAIN_API_KEY", "legacy-key-123")
    monkeypatch.setenv("LANGCHAIN_ENDPOINT", "https://ls.corp.example/api/v1")
    src = runtrack.connect("langsmith")
    assert src.api_key == "legacy-key-123"
    assert src.transport.base_url == "https://ls.corp.example"
    monkeypatch.setenv("LANGSMITH_API_KEY", "new-key-456")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", "https://eu.api.smith.langchain.com")
    monkeypatch.setenv("LANGSMITH_WORKSPACE_ID", TENANT)
    src = runtrack.connect("langsmith")
    assert src.api_key == "new-key-456"  # LANGSMITH_* wins over LANGCHAIN_*
    assert src.config["workspace_id"] == TENANT
    assert isinstance(src, LangSmithAdapter) and src.web_url == "https://eu.smith.langchain.com"


def test_missing_key_names_both_variables() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="LANGSMITH_API_KEY or LANGCHAIN_API_KEY"):
        LangSmithAdapter(environ={})


def test_default_endpoint() -> None:
    src = adapter()
    assert src.transport.base_url == BASE
    assert src.instance == "api.smith.langchain.com"
    assert src.web_url == "https://smith.langchain.com"


@pytest.mark.parametrize(
    ("given", "root", "web"),
    [
        ("https://api.smith.langchain.com", BASE, "https://smith.langchain.com"),
        ("https://api.smith.langchain.com/api/v1", BASE, "https://smith.langchain.com"),
        ("https://ls.corp.example/api/v1/", "https://ls.corp.example", "https://ls.corp.example"),
        ("https://ls.corp.example/api", "https://ls.corp.example", "https://ls.corp.example"),
        ("https://corp.example/langsmith", "https://corp.example/langsmith", "https://corp.example/langsmith"),
        ("https://corp.example/langsmith/api/v1", "https://corp.example/langsmith", "https://corp.example/langsmith"),
        ("ls.corp.example:8443/api/v1", "https://ls.corp.example:8443", "https://ls.corp.example:8443"),
    ],
)
@responses.activate
def test_base_urls_never_double_the_api_prefix(given: str, root: str, web: str) -> None:
    src = adapter(base_url=given)
    assert src.transport.base_url == root and src.web_url == web
    responses.get(f"{root}/api/v1/annotation-queues/{QUEUE}/runs", json=[v1_row(1)])
    [run] = list(src.runs(queue_id=QUEUE))
    assert responses.calls[0].request.url.startswith(f"{root}/api/v1/annotation-queues/{QUEUE}/runs?")
    assert run.url is not None and run.url.startswith(web + "/o/")


def test_web_url_option_overrides_the_derived_one() -> None:
    assert adapter(web_url="https://ui.corp.example/").web_url == "https://ui.corp.example"


@responses.activate
def test_auth_headers_and_workspace() -> None:
    add_runs_page(QUEUE, 0, [])
    add_runs_page(QUEUE, 0, [])
    list(adapter().runs(queue_id=QUEUE))
    list(adapter(workspace_id=TENANT).runs(queue_id=QUEUE))
    first, second = (c.request.headers for c in responses.calls)
    assert first["X-API-Key"] == KEY and "X-Tenant-Id" not in first
    assert second["X-API-Key"] == KEY and second["X-Tenant-Id"] == TENANT


def test_secrets_stay_out_of_reprs() -> None:
    src = adapter()
    assert KEY not in repr(src) and KEY not in repr(src.config) and KEY not in repr(src.transport.auth)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "v2"}, "must be one of auto, runs, items"),
        ({"colour": "red"}, "valid: api_key, base_url, ca_bundle, concurrency, deadline, endpoint"),
        ({"base_url": "ftp://x"}, "http:// or https://"),
    ],
)
def test_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(runtrack.ConfigurationError, match=message):
        adapter(**options)


def test_endpoint_option_is_case_insensitive() -> None:
    assert adapter(endpoint="ITEMS").config["endpoint"] == "items"


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({"project": "x"}, "unknown scope keyword.*valid: archived, queue_id, review_status"),
        ({"review_status": "done"}, "valid: needs_my_review, needs_others_review, completed"),
        ({"archived": "yes"}, "archived must be True, False or None"),
        ({"queue_id": " "}, "queue_id must not be empty"),
    ],
)
def test_bad_scope_is_a_clear_error_before_any_request(scope: dict[str, Any], message: str) -> None:
    with responses.RequestsMock() as mock, pytest.raises(runtrack.ConfigurationError, match=message):
        adapter().runs(**scope)
    assert len(mock.calls) == 0


def test_page_size_below_one_is_refused() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="page_size must be >= 1"):
        adapter().runs(queue_id=QUEUE, page_size=0)


def test_no_io_until_iterated() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        it = adapter().runs()
        queues = adapter().queues()
        assert len(mock.calls) == 0 and "not started" in repr(it) and "not started" in repr(queues)
