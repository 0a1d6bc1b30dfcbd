"""Fixtures of the Label Studio adapter tests."""

from __future__ import annotations

import pytest
import runtrack_labelstudio.auth
from runtrack_labelstudio import LabelStudioAdapter

from .helpers import BASE, LEGACY, T0, Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(T0)
    monkeypatch.setattr(runtrack_labelstudio.auth, "now", c)
    return c


@pytest.fixture
def legacy() -> LabelStudioAdapter:
    return LabelStudioAdapter(base_url=BASE, api_key=LEGACY, environ={})
