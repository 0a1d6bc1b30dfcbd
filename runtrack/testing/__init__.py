"""Fake vendor HTTP servers on 127.0.0.1 for tests and benchmarks (stdlib only; orjson used if present).

``FakeLangSmith``, ``FakeFoundry`` and ``FakeLabelStudio`` serve seeded, deterministic data that looks
like each vendor's wire format; ``Faults`` injects counted latency, 429s, 5xx bursts, dropped
connections, truncated bodies, repeated page tokens, offset drift and HTML error pages.
"""

from runtrack.testing._faults import Faults, Injected, ServerErrors
from runtrack.testing._foundry import FakeFoundry
from runtrack.testing._labelstudio import FakeLabelStudio
from runtrack.testing._langsmith import FakeLangSmith
from runtrack.testing._server import FakeServer, LoggedRequest, Request, Response

__all__ = [
    "FakeFoundry",
    "FakeLabelStudio",
    "FakeLangSmith",
    "FakeServer",
    "Faults",
    "Injected",
    "LoggedRequest",
    "Request",
    "Response",
    "ServerErrors",
]
