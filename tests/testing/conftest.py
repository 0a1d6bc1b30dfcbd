"""Fixtures: each fake started on 127.0.0.1 with a plain ``requests.Session`` already authenticated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith


@pytest.fixture
def ls() -> Iterator[FakeLangSmith]:
    with FakeLangSmith(queues=3, runs_per_queue=250) as fake:
        yield fake


@pytest.fixture
def ls_http(ls: FakeLangSmith) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["X-API-Key"] = ls.api_key
        yield session


@pytest.fixture
def fd() -> Iterator[FakeFoundry]:
    with FakeFoundry(studios=2, runs_per_studio=230, empty_studios=1) as fake:
        yield fake


@pytest.fixture
def fd_http(fd: FakeFoundry) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {fd.token}"
        yield session


@pytest.fixture
def lst() -> Iterator[FakeLabelStudio]:
    with FakeLabelStudio() as fake:
        yield fake


@pytest.fixture
def lst_http(lst: FakeLabelStudio) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {lst.token}"
        yield session
