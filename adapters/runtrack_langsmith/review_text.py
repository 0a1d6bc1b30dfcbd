"""Readable text of a LangSmith run's inputs and outputs, for people reviewing it elsewhere.

Inputs: ``input``/``question``/``query``/``prompt`` when a string, else the last user message of ``messages``
(``{role, content}`` dicts, LangChain-serialized messages, or a list of lists of either), else pretty JSON.
Outputs: ``output``/``answer``/``text``/``content`` when a string, else ``generations[0][0].text``, else the last
assistant message of ``messages``/``message``, else pretty JSON. None stays None.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = ["input_text", "model_name", "output_text", "run_payload"]

_INPUT_KEYS = ("input", "question", "query", "prompt")
_OUTPUT_KEYS = ("output", "answer", "text", "content")
_USER = frozenset({"user", "human", "humanmessage"})
_ASSISTANT = frozenset({"assistant", "ai", "aimessage"})


def run_payload(raw: Any) -> dict[str, Any] | None:
    """The run object inside ``Run.raw``: the row itself (deprecated endpoint) or ``raw["run"]`` (items
    endpoint, None when the run query did not return the run)."""
    if isinstance(raw, dict) and "item" in raw and "run" in raw:
        run = raw["run"]
        return run if isinstance(run, dict) else None
    return raw if isinstance(raw, dict) else None


def _messages(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for entry in value:
            yield from _messages(entry)
    elif isinstance(value, dict):
        yield value


def _role_and_text(message: dict[str, Any]) -> tuple[str, str | None]:
    kwargs = message.get("kwargs")
    if isinstance(kwargs, dict):  # LangChain serialized: {"lc": 1, "id": [..., "HumanMessage"], "kwargs": {...}}
        ids = message.get("id")
        role = str(kwargs.get("type") or (ids[-1] if isinstance(ids, list) and ids else ""))
        return role.lower(), _content(kwargs.get("content"))
    role = str(message.get("role") or message.get("type") or "")
    return role.lower(), _content(message.get("content"))


def _content(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts
        parts = [str(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        parts += [p for p in content if isinstance(p, str)]
        return "\n".join(parts) if parts else None
    return None


def _last(messages: Any, roles: frozenset[str]) -> str | None:
    found = None
    for message in _messages(messages):
        role, text = _role_and_text(message)
        if role in roles and text is not None:
            found = text
    return found


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def input_text(inputs: Any) -> str | None:
    if inputs is None:
        return None
    if not isinstance(inputs, dict):
        return inputs if isinstance(inputs, str) else _pretty(inputs)
    for key in _INPUT_KEYS:
        if isinstance(inputs.get(key), str):
            return str(inputs[key])
    text = _last(inputs.get("messages"), _USER)
    return text if text is not None else _pretty(inputs)


def output_text(outputs: Any) -> str | None:
    if outputs is None:
        return None
    if not isinstance(outputs, dict):
        return outputs if isinstance(outputs, str) else _pretty(outputs)
    for key in _OUTPUT_KEYS:
        if isinstance(outputs.get(key), str):
            return str(outputs[key])
    generations = outputs.get("generations")
    if isinstance(generations, list) and generations:
        first = generations[0][0] if isinstance(generations[0], list) and generations[0] else generations[0]
        if isinstance(first, dict) and isinstance(first.get("text"), str):
            return str(first["text"])
    for key in ("messages", "message"):
        text = _last(outputs.get(key), _ASSISTANT)
        if text is not None:
            return text
    return _pretty(outputs)


def model_name(run: dict[str, Any]) -> str | None:
    """``ls_model_name`` from the run's metadata (v2 ``metadata``, or v1 ``extra.metadata``)."""
    for metadata in (run.get("metadata"), (run.get("extra") or {}).get("metadata")):
        if isinstance(metadata, dict) and isinstance(metadata.get("ls_model_name"), str):
            return str(metadata["ls_model_name"])
    return None
