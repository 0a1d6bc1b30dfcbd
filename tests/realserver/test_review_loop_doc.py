"""docs/migrations.md, "closing the review loop", runs as written: the script (send, review, collect) and the CLI
commands, against the real Label Studio server and the fake LangSmith."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from runtrack.cli import main
from runtrack.testing import FakeLangSmith

from .peer import LabelStudioPeer

DOC = Path(__file__).parents[2] / "docs" / "migrations.md"
LOOP = "## `labelstudio-to-langsmith`: closing the review loop"
#: the doc's project title: a project is found again by it on the shared server, so each test uses its own
TITLE = "Answers to review"


def unique_title() -> str:
    return f"{TITLE} {uuid.uuid4().hex[:8]}"


def section(title: str) -> str:
    """The ``### title`` subsection of the review loop's section."""
    text = DOC.read_text()
    loop = text[text.index(LOOP) :]
    start = loop.index(f"### {title}")
    end = loop.find("\n##", start + 1)
    return loop[start : end if end > 0 else None]


def block(title: str, language: str) -> str:
    match = re.search(rf"```{language}\n(.*?)```", section(title), re.S)
    assert match is not None, f"no {language} block under {title!r}"
    return match.group(1)


def review_one_task(peer: LabelStudioPeer, project: int) -> None:
    with requests.Session() as http:
        http.trust_env = False
        http.headers.update(peer.legacy_headers())
        tasks = http.get(peer.url("/api/tasks/"), params={"project": project}).json()["tasks"]
        results = [
            {"from_name": "review", "to_name": "output", "type": "choices", "value": {"choices": ["bad"]}},
            {"from_name": "correction", "to_name": "output", "type": "textarea", "value": {"text": ["Fixed."]}},
        ]
        answer = http.post(peer.url(f"/api/tasks/{tasks[0]['id']}/annotations/"), json={"result": results})
        assert answer.status_code == 201, answer.text


@pytest.fixture
def fake() -> Iterator[FakeLangSmith]:
    with FakeLangSmith(queues=1, runs_per_queue=3) as server:
        yield server


def environment(peer: LabelStudioPeer, fake: FakeLangSmith, store: Path) -> dict[str, str]:
    return {
        "LANGSMITH_API_KEY": fake.api_key,
        "LANGSMITH_ENDPOINT": fake.base_url,
        "LABEL_STUDIO_URL": peer.base_url,
        "LABEL_STUDIO_API_KEY": peer.legacy_token,
        "QUEUE_ID": fake.queue_ids[0],
        "RUNTRACK_STORE": str(store),
        "NO_PROXY": "127.0.0.1",
    }


def check_feedback(fake: FakeLangSmith) -> None:
    feedback = {f["key"]: f for f in fake.feedback()}
    assert set(feedback) == {"review", "correction"} and len(fake.feedback()) == 2
    assert feedback["review"]["score"] == 0 and feedback["correction"]["correction"] == {"outputs": "Fixed."}
    (example,) = fake.examples()
    assert example["outputs"] == {"output": "Fixed."}


def test_the_script(ls_peer: LabelStudioPeer, fake: FakeLangSmith, tmp_path: Path) -> None:
    script = tmp_path / "review_loop.py"
    script.write_text(block("The loop as a script", "python").replace(TITLE, unique_title()))
    env = {**os.environ, **environment(ls_peer, fake, tmp_path / "runtrack.db")}

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(script), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    sent = run("send")
    project = re.search(r"/projects/(\d+) ", sent)
    assert project is not None and "'created': 3" in sent, sent
    review_one_task(ls_peer, int(project.group(1)))
    collected = run("collect", project.group(1))
    assert "'create': 3" in collected and "reconcile ok True" in collected and "removed in Label Studio []" in collected
    check_feedback(fake)
    again = run("collect", project.group(1))
    assert "'skipped': 3" in again and len(fake.feedback()) == 2


def test_the_cli_commands(
    ls_peer: LabelStudioPeer,
    fake: FakeLangSmith,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environment(ls_peer, fake, tmp_path / "runtrack.db").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "review.xml").write_text(
        re.search(r'CONFIG = """(.*?)"""', block("The loop as a script", "python"), re.S).group(1)
    )  # type: ignore[union-attr]
    lines = block("The loop as CLI commands", "bash").replace("\\\n", " ").splitlines()
    commands = [shlex.split(line) for line in lines if line.startswith("runtrack migrate")]
    title = unique_title()
    assert len(commands) == 4

    def run(argv: list[str], **subst: Any) -> str:
        argv = [a.replace("$QUEUE_ID", fake.queue_ids[0]).replace(TITLE, title) for a in argv]
        argv = [f"project={subst['project']}" if a == "project=7" else a for a in argv]
        assert main(argv[1:]) == 0, capsys.readouterr()
        return capsys.readouterr().out

    sent = run(commands[0])
    project = re.search(r"/projects/(\d+)", sent)
    assert project is not None, sent
    review_one_task(ls_peer, int(project.group(1)))
    run(commands[1], project=project.group(1))
    assert fake.feedback() == []  # --plan writes nothing
    run(commands[2], project=project.group(1))
    check_feedback(fake)
    run(commands[3], project=project.group(1))
