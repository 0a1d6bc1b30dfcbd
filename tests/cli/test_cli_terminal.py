"""The CLI as a new user meets it on a terminal and in a pipe: progress and streamed rows do not garble each other,
ids are never cut, ``--max-items`` tells the cursor to go on from, ``--quiet`` silences the demo's intro, and
colour appears only on a terminal without ``NO_COLOR``."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable

import pytest
import responses

from runtrack.cli import main
from runtrack.progress import Progress

from .conftest import BASE, BOXES, Result, _item, mock_box

Cli = Callable[..., Result]
LONG_ID = "0198a3d5-89a4-7208-8a37-25c608ad6b25-retry-2"  # longer than any fixed column
LONG_NAME = "a run name far longer than the twenty-eight characters of the NAME column"
ESC = "\x1b["


class Terminal(io.StringIO):
    """One stream standing for a terminal that stdout and stderr both write to."""

    def isatty(self) -> bool:
        return True

    def screen(self) -> list[str]:
        """What the terminal shows: ``\\r`` returns to the start of the line, later text overwrites."""
        lines: list[list[str]] = [[]]
        col = 0
        for ch in re.sub(r"\x1b\[[0-9;]*m", "", self.getvalue()):
            if ch == "\n":
                lines.append([])
                col = 0
            elif ch == "\r":
                col = 0
            else:
                line = lines[-1]
                line.extend(" " * (col + 1 - len(line)))
                line[col] = ch
                col += 1
        return ["".join(line).rstrip() for line in lines if "".join(line).strip()]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    monkeypatch.setattr(Progress, "INTERVAL", 0.0)  # draw the progress line after every page
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    return Terminal()


def run_on(term: Terminal, *argv: str) -> int:
    """``runtrack ARGV`` with stdout and stderr on ``term`` (set here: pytest re-installs its capture per phase)."""
    with contextlib.redirect_stdout(term), contextlib.redirect_stderr(term):
        return main(list(argv))


def test_progress_and_rows_on_one_terminal_do_not_garble(terminal: Terminal, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "a")  # five runs, two per page: the progress line is drawn between pages
    assert run_on(terminal, "runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a") == 0
    screen = terminal.screen()
    assert "runs read" in terminal.getvalue()  # the progress line was drawn on the way
    assert screen[0].split() == ["STATUS", "CREATED", "DURATION", "ID", "NAME", "ERROR"]
    rows = screen[1:-1]
    assert [r.split()[0] for r in rows] == ["SUCCEEDED", "FAILED", "RUNNING", "QUEUED", "SUCCEEDED"]
    assert not [r for r in rows if "runs read" in r]
    assert re.fullmatch(r"clitest box=a: 5 runs read(, [\d,]+/s)? - done", screen[-1])


def _long_items() -> list[dict[str, object]]:
    return [_item(LONG_ID, "ok", "2024-05-01T09:00:00Z", name=LONG_NAME), *BOXES["a"][1:2]]


def test_ids_are_never_cut_and_piped_rows_are_not_clipped(cli: Cli, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "a", items=_long_items())
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a")
    assert res.code == 0, res
    assert LONG_ID in res.out and LONG_NAME in res.out and "…" not in res.out
    assert ESC not in res.out + res.err  # not a terminal: no escape codes


def test_on_a_terminal_names_are_cut_but_ids_are_not(terminal: Terminal, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "a", items=_long_items())
    assert run_on(terminal, "runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a") == 0
    row = next(line for line in terminal.screen() if LONG_ID in line)
    assert LONG_NAME not in row and LONG_NAME[:27] + "…" in row


@pytest.mark.parametrize(("env", "coloured"), [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)])
def test_colour_only_on_a_terminal_without_no_color(
    terminal: Terminal,
    mocked: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    coloured: bool,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    mock_box(mocked, "a")
    assert run_on(terminal, "runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a") == 0
    assert (f"{ESC}32mSUCCEEDED" in terminal.getvalue()) is coloured
    assert (ESC in terminal.getvalue()) is coloured


def test_max_items_prints_the_cursor_that_goes_on(cli: Cli, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "a")
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a", "--max-items", "3",
              "--format", "jsonl")  # fmt: skip
    assert res.code == 0, res
    found = re.fullmatch(r"runtrack: next cursor: (rt1\.[A-Za-z0-9_-]+)\n", res.err)
    assert found, res.err
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a", "--cursor", found[1],
              "--format", "csv")  # fmt: skip
    assert res.code == 0, res
    assert [line.split(",")[4] for line in res.out.splitlines()[1:]] == ["a-3", "a-4"]
    assert res.err == ""  # read to the end: no cursor to print
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a", "--max-items", "9")
    assert res.code == 0 and "next cursor" not in res.err


@pytest.mark.e2e
def test_quiet_before_demo_silences_its_intro(cli: Cli) -> None:
    res = cli("--quiet", "demo", "--format", "json")
    assert res.code == 0, res
    assert res.err == "" and res.out.startswith("{")
    res = cli("demo", "--format", "csv")
    assert res.code == 0 and "127.0.0.1" in res.err  # without --quiet the intro is there
