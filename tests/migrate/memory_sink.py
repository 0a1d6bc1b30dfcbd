"""An in-memory direction and sink for engine tests: a dict destination that counts its calls."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from runtrack.adapter import Option
from runtrack.migrate import BatchRejected, Containers, Direction, Found, Item, Migration, Sink


class MemorySink:
    kind = "record"
    batch_size = 4

    def __init__(self, *, updatable: bool = True) -> None:
        self.instance = "memory/box"
        self.objects: dict[str, tuple[str, dict[str, Any]]] = {}  # dest_id -> (key, payload)
        self.calls: list[str] = []
        self.next_id = 1
        self.reject_when: str | None = None  # a payload value that makes a whole batch fail
        self.fail_create: Exception | None = None
        self._updatable = updatable

    @property
    def updatable(self) -> bool:
        return self._updatable

    def prepare(self) -> None:
        self.calls.append("prepare")

    def lookup(self, items: Sequence[Item]) -> Mapping[str, Found]:
        self.calls.append(f"lookup:{len(items)}")
        wanted = {i.key for i in items}
        out: dict[str, Found] = {}
        for dest_id, (key, payload) in sorted(self.objects.items(), key=lambda kv: int(kv[0])):
            if key in wanted and key not in out:
                out[key] = Found(key=key, dest_id=dest_id, payload=payload)
        return out

    def create(self, items: Sequence[Item]) -> Mapping[str, str]:
        self.calls.append(f"create:{len(items)}")
        if self.fail_create is not None:
            raise self.fail_create
        if self.reject_when is not None and any(i.payload.get("value") == self.reject_when for i in items):
            raise BatchRejected(f"value {self.reject_when!r} is not allowed")
        ids = {}
        for item in items:
            dest_id = str(self.next_id)
            self.next_id += 1
            self.objects[dest_id] = (item.key, dict(item.payload))
            ids[item.key] = dest_id
        return ids

    def update(self, pairs: Sequence[tuple[Item, Found]]) -> None:
        self.calls.append(f"update:{len(pairs)}")
        for item, found in pairs:
            self.objects[found.dest_id] = (item.key, dict(item.payload))

    def scan(self) -> Iterator[Found]:
        self.calls.append("scan")
        for dest_id, (key, payload) in self.objects.items():
            yield Found(key=key, dest_id=dest_id, payload=payload)


class MemoryDirection(Direction):
    """Source: a list of dicts ``{"id", "value"}``; a value ``None`` is blocked."""

    name: ClassVar[str] = "memory-to-memory"
    source_platform: ClassVar[str] = "memory"
    target_platform: ClassVar[str] = "memory"
    options = (Option(name="prefix", default=""),)

    def items(self, **scope: Any) -> Iterator[Item]:
        for record in self.source:
            value = record["value"]
            blocked = "no value" if value is None else None
            yield Item(source_key=record["id"], payload={"value": f"{self.config['prefix']}{value}"}, blocked=blocked)

    def sink(self, containers: Containers) -> Sink:
        sink: Sink = self.target
        return sink


def memory_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sink: MemorySink, sources: list[Any]) -> list[str]:
    """``runtrack migrate`` argv whose migration is a :class:`MemoryDirection` into ``sink`` over the next of
    ``sources`` at each call (the adapters named on the command line are connected, never used)."""
    import runtrack.migrate

    store = tmp_path / "s.db"

    def migration(*args: Any, **kwargs: Any) -> Migration:
        return Migration(MemoryDirection(source=sources.pop(0), target=sink), store=store, settle_seconds=0)

    monkeypatch.setattr(runtrack.migrate, "migration", migration)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RUNTRACK_CONFIG", raising=False)
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2_pt_" + "a" * 40)
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "b" * 40)
    return ["migrate", "memory-to-memory", "--from", "langsmith", "--to", "labelstudio", "--store", str(store)]
