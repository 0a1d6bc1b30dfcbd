"""connect(): options, environment fallbacks, auth header, secrets, laziness and scope checks."""

from __future__ import annotations

import logging

import pytest
import responses
from runtrack_foundry import FoundryAdapter

import runtrack

from .conftest import BASE, HOST, STUDIO_A, STUDIO_B, TOKEN, add_runs_page, run_item, runs_url


def test_registered_through_the_entry_point_group() -> None:
    assert "foundry" in runtrack.available_adapters()
    info = runtrack.plugins.adapter_registry()["foundry"]
    assert info.cls is FoundryAdapter
    assert info.plugin == "foundry"


@pytest.mark.parametrize(
    "hostname", [HOST, f"https://{HOST}", f"https://{HOST}/", f"https://{HOST}/api", f"  {HOST.upper()}  "]
)
def test_hostname_from_environment(hostname: str) -> None:
    src = runtrack.connect("foundry", environ={"FOUNDRY_HOSTNAME": hostname, "FOUNDRY_TOKEN": TOKEN})
    assert src.transport.base_url.lower() == BASE
    assert src.instance == HOST


def test_explicit_options_win_over_environment() -> None:
    src = runtrack.connect(
        "foundry",
        base_url="http://127.0.0.1:8123",
        api_key="explicit-token",
        environ={"FOUNDRY_HOSTNAME": HOST, "FOUNDRY_TOKEN": TOKEN},
    )
    assert src.transport.base_url == "http://127.0.0.1:8123"
    assert src.api_key == "explicit-token"


@responses.activate
def test_bearer_token_is_sent_and_never_shown() -> None:
    src = runtrack.connect("foundry", environ={"FOUNDRY_HOSTNAME": HOST, "FOUNDRY_TOKEN": TOKEN})
    add_runs_page(STUDIO_A, [run_item(1)])
    assert len(list(src.runs(model_studio_rid=STUDIO_A))) == 1
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    for text in (repr(src), repr(src.config), str(src.config), repr(src.transport), repr(src.transport.auth)):
        assert TOKEN not in text


def test_missing_token_names_the_environment_variable() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="FOUNDRY_TOKEN"):
        runtrack.connect("foundry", environ={"FOUNDRY_HOSTNAME": HOST})
    with pytest.raises(runtrack.ConfigurationError, match="FOUNDRY_HOSTNAME"):
        runtrack.connect("foundry", environ={"FOUNDRY_TOKEN": TOKEN})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([STUDIO_A, STUDIO_B], (STUDIO_A, STUDIO_B)),
        ((STUDIO_B,), (STUDIO_B,)),
        (f"{STUDIO_A}, {STUDIO_B},", (STUDIO_A, STUDIO_B)),
        ([STUDIO_A, STUDIO_B, STUDIO_A], (STUDIO_A, STUDIO_B)),
        ("", ()),
        ([], ()),
    ],
)
def test_model_studios_option(given: object, expected: tuple[str, ...]) -> None:
    src = FoundryAdapter(base_url=BASE, api_key=TOKEN, model_studios=given, environ={})
    assert src.model_studios == expected


def test_model_studios_from_environment() -> None:
    env = {"FOUNDRY_HOSTNAME": HOST, "FOUNDRY_TOKEN": TOKEN, "FOUNDRY_MODEL_STUDIOS": f"{STUDIO_B},{STUDIO_A}"}
    assert runtrack.connect("foundry", environ=env).model_studios == (STUDIO_B, STUDIO_A)


@pytest.mark.parametrize("bad", [["ri.models.main.model-studio.x y"], ["a/b"], [42], 7])
def test_model_studios_rejects_what_cannot_be_a_rid(bad: object) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="model_studios"):
        FoundryAdapter(base_url=BASE, api_key=TOKEN, model_studios=bad, environ={})


@responses.activate
def test_unknown_rid_shape_is_kept_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    odd = "studio-from-an-older-stack-17"
    src = FoundryAdapter(base_url=BASE, api_key=TOKEN, environ={})
    add_runs_page(odd, [run_item(1)])
    with caplog.at_level(logging.WARNING, logger="runtrack.foundry"):
        runs = list(src.runs(model_studio_rid=odd))
    assert runs[0].scope["model_studio_rid"] == odd
    assert responses.calls[0].request.url.startswith(runs_url(odd) + "?")
    assert "does not look like a Foundry RID" in caplog.text


def test_runs_without_studios_explains_that_foundry_cannot_list_them() -> None:
    src = FoundryAdapter(base_url=BASE, api_key=TOKEN, environ={})
    with pytest.raises(runtrack.ConfigurationError, match="no endpoint that lists Model Studios") as info:
        src.runs()
    assert "FOUNDRY_MODEL_STUDIOS" in str(info.value)


def test_scope_checks(foundry: FoundryAdapter) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="unknown scope keyword.*queue_id"):
        foundry.runs(queue_id="q")
    for bad in ("latest", 2.5, True, "-1"):
        with pytest.raises(runtrack.ConfigurationError, match="config_version must be an integer"):
            foundry.runs(config_version=bad)
    with pytest.raises(runtrack.ConfigurationError, match="model_studio_rid"):
        foundry.runs(model_studio_rid=" ")
    with pytest.raises(runtrack.ConfigurationError, match="page_size"):
        foundry.runs(page_size=0)


def test_nothing_is_fetched_before_iteration(foundry: FoundryAdapter) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        it = foundry.runs()
        versions = foundry.config_versions(STUDIO_A)
        one = foundry.runs(model_studio_rid=STUDIO_A, config_version="3")
        assert len(mock.calls) == 0
        assert "not started" in repr(it) and "not started" in repr(versions) and "not started" in repr(one)


def test_enrich_end_times_option_parses_booleans() -> None:
    on = FoundryAdapter(base_url=BASE, api_key=TOKEN, enrich_end_times="yes", environ={})
    off = FoundryAdapter(base_url=BASE, api_key=TOKEN, environ={})
    assert on.config["enrich_end_times"] is True and off.config["enrich_end_times"] is False
    with pytest.raises(runtrack.ConfigurationError, match="enrich_end_times"):
        FoundryAdapter(base_url=BASE, api_key=TOKEN, enrich_end_times="maybe", environ={})
