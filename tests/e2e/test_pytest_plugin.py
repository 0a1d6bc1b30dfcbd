"""The pytest plugin, as a user's test suite sees it: the example of docs/testing.md, markers, factory, teardown,
no real sleeps, and a light import."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import runtrack
from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith
from runtrack.testing.pytest_plugin import RuntrackFakes, connect_options, sdk_environment

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def docs_example() -> str:
    """The example a user would copy: the python block of docs/testing.md that starts with its file name."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    examples = [b for b in blocks if b.startswith("# test_with_runtrack_fakes.py")]
    assert len(examples) == 1, "docs/testing.md lost its example test"
    return examples[0]


def test_the_example_in_the_docs_passes_in_a_users_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_with_runtrack_fakes=docs_example())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_docs_retry_after_snippet_passes(pytester: pytest.Pytester) -> None:
    text = DOCS.read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(def test_retry_after_is_honoured.*?)```", text, flags=re.DOTALL)
    assert snippet is not None
    pytester.makepyfile(test_snippet=snippet.group(1))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_markers_fixtures_and_teardown_in_a_users_project(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = --strict-markers\n")
    pytester.makepyfile(
        textwrap.dedent(
            """
            import pytest
            import runtrack

            started = []

            @pytest.mark.runtrack_fake("langsmith", queues=1, runs_per_queue=3)
            @pytest.mark.runtrack_adapter("langsmith", max_retries=0)
            def test_marker_options(runtrack_langsmith, runtrack_fake_langsmith):
                started.append(runtrack_fake_langsmith)
                assert len(list(runtrack_langsmith.runs())) == 3
                runtrack_fake_langsmith.faults.configure(rate_limit_every=1)
                with pytest.raises(runtrack.RateLimitError):
                    list(runtrack_langsmith.runs())
                assert runtrack_fake_langsmith.faults.count == 1  # max_retries=0: no retry

            def test_the_fake_was_stopped_at_teardown():
                assert started and not started[0].running

            @pytest.mark.runtrack_fake("foundry", studios=1, runs_per_studio=3)
            class TestClassMarker:
                @pytest.mark.runtrack_fake("foundry", runs_per_studio=5)
                def test_closest_marker_wins(self, runtrack_foundry, runtrack_fake_foundry):
                    assert len(runtrack_fake_foundry.studio_rids) == 1
                    assert len(list(runtrack_foundry.runs())) == 5

            def test_defaults_of_every_vendor(runtrack_langsmith, runtrack_foundry, runtrack_labelstudio,
                                              runtrack_fake_labelstudio):
                assert list(runtrack_labelstudio.runs())
                assert runtrack_labelstudio.transport.max_retries == 2
                assert {a.name for a in (runtrack_langsmith, runtrack_foundry, runtrack_labelstudio)} == {
                    "langsmith", "foundry", "labelstudio"}

            @pytest.mark.runtrack_fake("jira")
            def test_unknown_vendor(runtrack_fake_langsmith):
                pass
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*runtrack_fake('jira'): unknown vendor; valid: langsmith, foundry, labelstudio*"])


def test_retries_do_not_sleep_and_record_the_waits(
    runtrack_foundry: runtrack.Adapter, runtrack_fake_foundry: FakeFoundry, runtrack_no_sleep: list[float]
) -> None:
    runtrack_fake_foundry.faults.configure(rate_limit_every=2, retry_after=30)
    assert len(list(runtrack_foundry.runs(page_size=10))) == len(runtrack_fake_foundry.all_run_ids())
    assert runtrack_no_sleep and set(runtrack_no_sleep) == {30.0}


def test_the_factory_connects_with_a_personal_access_token(runtrack_fakes: RuntrackFakes) -> None:
    fake = runtrack_fakes.labelstudio(prompts=1, versions_per_prompt=1)
    source = runtrack_fakes.connect(fake, api_key=fake.pat)
    assert len(list(source.runs())) == len(fake.all_run_ids())
    assert fake.refresh_count == 1


def test_setenv_lets_code_connect_without_options(runtrack_fakes: RuntrackFakes) -> None:
    fakes = (runtrack_fakes.langsmith(queues=1), runtrack_fakes.foundry(studios=1), runtrack_fakes.labelstudio())
    for fake in fakes:
        assert runtrack_fakes.setenv(fake) == sdk_environment(fake)
        with runtrack.connect(fake.vendor) as source:
            assert len(list(source.runs())) == len(
                fake.all_run_ids() if not isinstance(fake, FakeLangSmith) else fake.runs_by_queue[fake.queue_ids[0]]
            )


def test_connected_adapters_ignore_the_machines_vendor_environment(
    runtrack_fakes: RuntrackFakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = runtrack_fakes.langsmith(queues=1, runs_per_queue=4)
    monkeypatch.setenv("LANGSMITH_WORKSPACE_ID", "00000000-0000-0000-0000-000000000000")  # the fake would answer 403
    assert len(list(runtrack_fakes.connect(fake).runs())) == 4


def test_loopback_bypasses_a_proxy_of_the_environment(
    runtrack_fakes: RuntrackFakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nobody listens there
    monkeypatch.setenv("no_proxy", "example.com")
    fake = runtrack_fakes.labelstudio(prompts=1)
    assert len(list(runtrack_fakes.connect(fake, max_retries=0).runs())) == len(fake.all_run_ids())


def test_connect_options_name_the_credentials_of_each_fake(runtrack_fakes: RuntrackFakes) -> None:
    ls, fd, lst = runtrack_fakes.langsmith(), runtrack_fakes.foundry(), runtrack_fakes.labelstudio()
    assert connect_options(ls) == {"base_url": ls.base_url, "api_key": ls.api_key}
    assert connect_options(fd)["model_studios"] == list(fd.studio_rids)
    assert connect_options(lst)["api_key"] == lst.token
    assert isinstance(lst, FakeLabelStudio)
    with pytest.raises(ValueError, match="unknown runtrack fake 'jira'"):
        runtrack_fakes.start("jira")


def test_the_plugin_imports_no_adapter_and_starts_nothing() -> None:
    code = (
        "import sys, threading; import runtrack.testing.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('runtrack_')), threading.active_count())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 1"
