"""pytest fixtures for testing code that uses runtrack (registered under the ``pytest11`` entry point as ``runtrack``).

Fixtures (all function-scoped; see docs/testing.md):

* ``runtrack_fake_langsmith``, ``runtrack_fake_foundry``, ``runtrack_fake_labelstudio``: a started fake vendor
  server on 127.0.0.1, stopped at teardown. ``@pytest.mark.runtrack_fake("foundry", studios=3)`` passes
  constructor arguments.
* ``runtrack_langsmith``, ``runtrack_foundry``, ``runtrack_labelstudio``: an adapter connected to that fake with its
  credentials, ``max_retries=2``, and retries that do not really sleep. ``@pytest.mark.runtrack_adapter("langsmith",
  endpoint="items")`` passes ``connect()`` options.
* ``runtrack_fakes``: a factory (:class:`RuntrackFakes`) for several fakes or adapters with arguments.
* ``runtrack_no_sleep``: retries record their waits instead of sleeping.

Nothing heavy is imported until a fixture is used, so the plugin costs unrelated test runs nothing noticeable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from runtrack_foundry import FoundryAdapter
    from runtrack_labelstudio import LabelStudioAdapter
    from runtrack_langsmith import LangSmithAdapter

    from runtrack.adapter import Adapter
    from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith, FakeServer

__all__ = [
    "ADAPTER_MARKER",
    "DEFAULT_MAX_RETRIES",
    "FAKE_MARKER",
    "VENDORS",
    "RuntrackFakes",
    "connect_options",
    "sdk_environment",
]

VENDORS = ("langsmith", "foundry", "labelstudio")
FAKE_MARKER = "runtrack_fake"
ADAPTER_MARKER = "runtrack_adapter"
#: retries of the adapters the plugin connects: enough to ride out a fault, few enough to fail fast
DEFAULT_MAX_RETRIES = 2
DEFAULT_TIMEOUT = 10.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{FAKE_MARKER}(vendor, **options): constructor options of the runtrack fake server that the fixture "
        f"runtrack_fake_<vendor> starts (vendor: {', '.join(VENDORS)})",
    )
    config.addinivalue_line(
        "markers",
        f"{ADAPTER_MARKER}(vendor, **options): runtrack.connect() options of the adapter that the fixture "
        "runtrack_<vendor> connects to its fake",
    )


def _fake_class(vendor: str) -> type[FakeServer]:
    from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith

    classes: dict[str, type[FakeServer]] = {
        "langsmith": FakeLangSmith,
        "foundry": FakeFoundry,
        "labelstudio": FakeLabelStudio,
    }
    if vendor not in classes:
        raise ValueError(f"unknown runtrack fake {vendor!r}; valid: {', '.join(VENDORS)}")
    return classes[vendor]


def connect_options(fake: FakeServer) -> dict[str, Any]:
    """``runtrack.connect()`` options that point the fake's adapter at it, with its credentials."""
    from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith

    if isinstance(fake, FakeLangSmith):
        return {"base_url": fake.base_url, "api_key": fake.api_key}
    if isinstance(fake, FakeFoundry):
        return {"base_url": fake.base_url, "api_key": fake.token, "model_studios": list(fake.studio_rids)}
    if isinstance(fake, FakeLabelStudio):
        return {"base_url": fake.base_url, "api_key": fake.token}
    raise TypeError(f"not a runtrack fake with a built-in adapter: {type(fake).__name__}")


def sdk_environment(fake: FakeServer) -> dict[str, str]:
    """The vendor SDK environment variables (``LANGSMITH_ENDPOINT``, ``FOUNDRY_TOKEN``, ...) for the fake; code
    that calls ``runtrack.connect(name)`` without options then reads from it."""
    from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith

    if isinstance(fake, FakeLangSmith):
        return {"LANGSMITH_ENDPOINT": fake.base_url, "LANGSMITH_API_KEY": fake.api_key}
    if isinstance(fake, FakeFoundry):
        return {
            "FOUNDRY_HOSTNAME": fake.base_url,
            "FOUNDRY_TOKEN": fake.token,
            "FOUNDRY_MODEL_STUDIOS": ",".join(fake.studio_rids),
        }
    if isinstance(fake, FakeLabelStudio):
        return {"LABEL_STUDIO_URL": fake.base_url, "LABEL_STUDIO_API_KEY": fake.token}
    raise TypeError(f"not a runtrack fake with a built-in adapter: {type(fake).__name__}")


class RuntrackFakes:
    """Starts fakes and connects adapters for one test; everything is stopped and closed at teardown.

    Starting a fake also adds 127.0.0.1 to ``no_proxy`` for the test, so a proxy set in the environment never
    sees the traffic.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._fakes: list[FakeServer] = []
        self._adapters: list[Adapter] = []

    def start(self, vendor: str, **options: Any) -> FakeServer:
        """Start the fake of ``vendor`` (``langsmith``, ``foundry``, ``labelstudio``) with constructor options."""
        from runtrack.testing._env import no_proxy_updates

        fake = _fake_class(vendor)(**options)
        for var, value in no_proxy_updates(os.environ).items():
            self._monkeypatch.setenv(var, value)
        fake.start()
        self._fakes.append(fake)
        return fake

    def langsmith(self, **options: Any) -> FakeLangSmith:
        """A started :class:`~runtrack.testing.FakeLangSmith`."""
        from runtrack.testing import FakeLangSmith

        fake = self.start("langsmith", **options)
        assert isinstance(fake, FakeLangSmith)
        return fake

    def foundry(self, **options: Any) -> FakeFoundry:
        """A started :class:`~runtrack.testing.FakeFoundry`."""
        from runtrack.testing import FakeFoundry

        fake = self.start("foundry", **options)
        assert isinstance(fake, FakeFoundry)
        return fake

    def labelstudio(self, **options: Any) -> FakeLabelStudio:
        """A started :class:`~runtrack.testing.FakeLabelStudio`."""
        from runtrack.testing import FakeLabelStudio

        fake = self.start("labelstudio", **options)
        assert isinstance(fake, FakeLabelStudio)
        return fake

    def connect(self, fake: FakeServer, **options: Any) -> Adapter:
        """``runtrack.connect()`` for the fake's adapter, with its URL and credentials, ``max_retries=2``,
        ``timeout=10`` and no client-side rate limit (``rate_limit=0``: a fake on loopback needs no pacing, and
        :func:`runtrack_no_sleep` then records retries only); ``options`` override them. The vendor SDK environment
        variables of the machine are not read (the adapter sees an empty environment), so a test gives the same
        result everywhere."""
        import runtrack

        merged = {
            "max_retries": DEFAULT_MAX_RETRIES,
            "timeout": DEFAULT_TIMEOUT,
            "rate_limit": 0,
            **connect_options(fake),
            **options,
        }
        adapter = runtrack.connect(fake.vendor, environ={}, **merged)
        self._adapters.append(adapter)
        return adapter

    def setenv(self, fake: FakeServer) -> dict[str, str]:
        """Set the vendor SDK environment variables for ``fake`` for this test (see :func:`sdk_environment`)."""
        env = sdk_environment(fake)
        for var, value in env.items():
            self._monkeypatch.setenv(var, value)
        return env

    def close(self) -> None:
        """Close the adapters and stop the fakes (the fixture does this at teardown)."""
        adapters, self._adapters = self._adapters, []
        fakes, self._fakes = self._fakes, []
        for adapter in adapters:
            adapter.close()
        for fake in fakes:
            fake.stop()


def _marker_options(request: pytest.FixtureRequest, marker: str, vendor: str) -> dict[str, Any]:
    """Keyword arguments of every ``marker(vendor, ...)`` on the test, the closest one winning."""
    options: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers(marker))):
        if len(mark.args) != 1 or not isinstance(mark.args[0], str):
            pytest.fail(
                f"@pytest.mark.{marker} takes the vendor name first, e.g. @pytest.mark.{marker}('{VENDORS[0]}', ...)",
                pytrace=False,
            )
        if mark.args[0] not in VENDORS:
            pytest.fail(
                f"@pytest.mark.{marker}({mark.args[0]!r}): unknown vendor; valid: {', '.join(VENDORS)}", pytrace=False
            )
        if mark.args[0] == vendor:
            options.update(mark.kwargs)
    return options


@pytest.fixture
def runtrack_no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries of every runtrack transport record the wait they ask for here instead of sleeping."""
    import runtrack.http

    waits: list[float] = []
    monkeypatch.setattr(runtrack.http, "sleep_for", waits.append)
    return waits


@pytest.fixture
def runtrack_fakes(monkeypatch: pytest.MonkeyPatch, runtrack_no_sleep: list[float]) -> Iterator[RuntrackFakes]:
    """A :class:`RuntrackFakes` factory; its fakes are stopped and its adapters closed at teardown."""
    fakes = RuntrackFakes(monkeypatch)
    try:
        yield fakes
    finally:
        fakes.close()


def _fake(request: pytest.FixtureRequest, fakes: RuntrackFakes, vendor: str) -> FakeServer:
    return fakes.start(vendor, **_marker_options(request, FAKE_MARKER, vendor))


def _adapter(request: pytest.FixtureRequest, fakes: RuntrackFakes, fake: FakeServer) -> Adapter:
    return fakes.connect(fake, **_marker_options(request, ADAPTER_MARKER, fake.vendor))


@pytest.fixture
def runtrack_fake_langsmith(request: pytest.FixtureRequest, runtrack_fakes: RuntrackFakes) -> FakeLangSmith:
    """A started FakeLangSmith (options from ``@pytest.mark.runtrack_fake("langsmith", ...)``)."""
    from runtrack.testing import FakeLangSmith

    fake = _fake(request, runtrack_fakes, "langsmith")
    assert isinstance(fake, FakeLangSmith)
    return fake


@pytest.fixture
def runtrack_fake_foundry(request: pytest.FixtureRequest, runtrack_fakes: RuntrackFakes) -> FakeFoundry:
    """A started FakeFoundry (options from ``@pytest.mark.runtrack_fake("foundry", ...)``)."""
    from runtrack.testing import FakeFoundry

    fake = _fake(request, runtrack_fakes, "foundry")
    assert isinstance(fake, FakeFoundry)
    return fake


@pytest.fixture
def runtrack_fake_labelstudio(request: pytest.FixtureRequest, runtrack_fakes: RuntrackFakes) -> FakeLabelStudio:
    """A started FakeLabelStudio (options from ``@pytest.mark.runtrack_fake("labelstudio", ...)``)."""
    from runtrack.testing import FakeLabelStudio

    fake = _fake(request, runtrack_fakes, "labelstudio")
    assert isinstance(fake, FakeLabelStudio)
    return fake


@pytest.fixture
def runtrack_langsmith(
    request: pytest.FixtureRequest, runtrack_fakes: RuntrackFakes, runtrack_fake_langsmith: FakeLangSmith
) -> LangSmithAdapter:
    """The LangSmith adapter connected to ``runtrack_fake_langsmith``."""
    return cast("LangSmithAdapter", _adapter(request, runtrack_fakes, runtrack_fake_langsmith))


@pytest.fixture
def runtrack_foundry(
    request: pytest.FixtureRequest, runtrack_fakes: RuntrackFakes, runtrack_fake_foundry: FakeFoundry
) -> FoundryAdapter:
    """The Foundry adapter connected to ``runtrack_fake_foundry`` (every studio of the fake configured)."""
    return cast("FoundryAdapter", _adapter(request, runtrack_fakes, runtrack_fake_foundry))


@pytest.fixture
def runtrack_labelstudio(
    request: pytest.FixtureRequest, runtrack_fakes: RuntrackFakes, runtrack_fake_labelstudio: FakeLabelStudio
) -> LabelStudioAdapter:
    """The Label Studio adapter connected to ``runtrack_fake_labelstudio`` (legacy token)."""
    return cast("LabelStudioAdapter", _adapter(request, runtrack_fakes, runtrack_fake_labelstudio))
