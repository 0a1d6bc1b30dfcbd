"""The adapters under end-to-end test: how to start each one's fake with small data, connect to it, and read the
ground truth that a listing must equal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtrack import Run
from runtrack.adapter import Adapter
from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith, FakeServer
from runtrack.testing.pytest_plugin import RuntrackFakes

Key = tuple[str, ...]

#: adapters in the suite connect with this many retries (the exhaustion tests count the attempts)
MAX_RETRIES = 2


def _langsmith_truth(fake: FakeServer) -> list[Key]:
    assert isinstance(fake, FakeLangSmith)
    return [(q, r) for q in fake.queue_ids for r in fake.runs_by_queue[q]]


def _foundry_truth(fake: FakeServer) -> list[Key]:
    assert isinstance(fake, FakeFoundry)
    return [(rid, r) for rid in fake.studio_rids for r in fake.runs_by_studio[rid]]


def _labelstudio_truth(fake: FakeServer) -> list[Key]:
    assert isinstance(fake, FakeLabelStudio)
    return [
        (str(p), str(v), str(r))
        for p in fake.prompt_ids
        for v in fake.versions_by_prompt[p]
        for r in fake.runs_by_version[(p, v)]
    ]


def _langsmith_key(run: Run) -> Key:
    return (run.scope["queue_id"], run.native_id)


def _foundry_key(run: Run) -> Key:
    return (run.scope["model_studio_rid"], run.native_id)


def _labelstudio_key(run: Run) -> Key:
    return (run.scope["prompt"], run.scope["version"], run.native_id)


@dataclass(frozen=True)
class Platform:
    """One adapter configuration: its fake, its options, its ground truth and how runs map onto it."""

    id: str
    vendor: str
    fake_options: Mapping[str, Any]
    truth: Callable[[FakeServer], list[Key]]
    key: Callable[[Run], Key]
    page_size: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    #: extra connect() options computed from the started fake (e.g. a personal access token)
    fake_credentials: Callable[[FakeServer], Mapping[str, Any]] | None = None
    #: whether the listing comes in ground-truth order (the LangSmith items endpoint walks review sections)
    ordered: bool = True

    def start(self, fakes: RuntrackFakes, **overrides: Any) -> FakeServer:
        return fakes.start(self.vendor, **{**self.fake_options, **overrides})

    def connect(self, fakes: RuntrackFakes, fake: FakeServer, **overrides: Any) -> Adapter:
        credentials = self.fake_credentials(fake) if self.fake_credentials else {}
        return fakes.connect(fake, **{"max_retries": MAX_RETRIES, **self.options, **credentials, **overrides})

    def keys(self, runs: Iterable[Run]) -> list[Key]:
        return [self.key(run) for run in runs]

    def assert_exactly_once(self, got: list[Key], truth: list[Key]) -> None:
        """Every run of the ground truth exactly once (in its order where the listing promises one)."""
        duplicates = sorted(k for k, n in Counter(got).items() if n > 1)
        assert not duplicates, f"{len(duplicates)} run(s) listed more than once: {duplicates[:3]}"
        missing = sorted(set(truth) - set(got))
        assert not missing, f"{len(missing)} run(s) lost: {missing[:3]}"
        extra = sorted(set(got) - set(truth))
        assert not extra, f"{len(extra)} run(s) not in the ground truth: {extra[:3]}"
        if self.ordered:
            assert got == truth


LANGSMITH_DATA = {"seed": 1, "queues": 3, "runs_per_queue": 23, "shared_runs": 3}

LANGSMITH = Platform(
    id="langsmith",
    vendor="langsmith",
    fake_options=LANGSMITH_DATA,
    truth=_langsmith_truth,
    key=_langsmith_key,
    page_size=7,
)
LANGSMITH_ITEMS = Platform(
    id="langsmith-items",
    vendor="langsmith",
    fake_options=LANGSMITH_DATA,
    truth=_langsmith_truth,
    key=_langsmith_key,
    page_size=7,
    options={"endpoint": "items"},
    ordered=False,
)
FOUNDRY = Platform(
    id="foundry",
    vendor="foundry",
    fake_options={"seed": 1, "studios": 3, "runs_per_studio": 23, "empty_studios": 1},
    truth=_foundry_truth,
    key=_foundry_key,
    page_size=7,
)
LABELSTUDIO_DATA = {
    "seed": 1,
    "prompts": 4,
    "versions_per_prompt": 2,
    "runs_per_version": 4,
    "paginated_prompts": True,
    "prompts_page_size": 2,
}
LABELSTUDIO = Platform(
    id="labelstudio",
    vendor="labelstudio",
    fake_options=LABELSTUDIO_DATA,
    truth=_labelstudio_truth,
    key=_labelstudio_key,
)


def _pat(fake: FakeServer) -> Mapping[str, Any]:
    assert isinstance(fake, FakeLabelStudio)
    return {"api_key": fake.pat}


LABELSTUDIO_PAT = Platform(
    id="labelstudio-pat",
    vendor="labelstudio",
    fake_options=LABELSTUDIO_DATA,
    truth=_labelstudio_truth,
    key=_labelstudio_key,
    fake_credentials=_pat,
)

PLATFORMS = (LANGSMITH, LANGSMITH_ITEMS, FOUNDRY, LABELSTUDIO, LABELSTUDIO_PAT)
