"""Label Studio review tasks: the generated labeling config and the task/prediction shape runtrack writes.

A review task's ``data`` holds the fields below (plus ``runtrack_key``, the migration key, added by the sink);
its one prediction pre-fills the ``correction`` text area with the model's output, so a reviewer edits rather
than retypes. Every ``$variable`` of a labeling config must be present in ``data`` (Label Studio refuses the
whole import otherwise), which :func:`check_config` verifies before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import quoteattr

from runtrack.errors import ConfigurationError

__all__ = [
    "KEY_FIELD",
    "MAX_FIELD_CHARS",
    "PREDICTION_FIELD",
    "REVIEW_CHOICES",
    "check_config",
    "config_variables",
    "default_label_config",
    "prediction",
    "truncate",
]

#: ``data`` field holding the migration key (filterable: Data Manager ``data.<key>`` filters work, ``meta`` not).
KEY_FIELD = "runtrack_key"
#: Text fields longer than this are cut, with a note saying how much was left out (see docs/migrations.md).
MAX_FIELD_CHARS = 20_000
#: The TextArea the prediction fills.
PREDICTION_FIELD = "correction"
REVIEW_CHOICES = ("good", "bad")

_VARIABLE = re.compile(r"""value\s*=\s*["']\$([A-Za-z_][\w]*)""")


def default_label_config(choices: tuple[str, ...] = REVIEW_CHOICES) -> str:
    """Input and output side by side, a review choice, a correction pre-filled by the prediction, a comment."""
    choice_tags = "\n".join(f"    <Choice value={quoteattr(c)}/>" for c in choices)
    return (
        "<View>\n"
        '  <Header value="Input"/>\n'
        '  <Text name="input" value="$input"/>\n'
        '  <Header value="Output"/>\n'
        '  <Text name="output" value="$output"/>\n'
        '  <Header value="Run"/>\n'
        '  <Text name="run" value="$run_name"/>\n'
        '  <Choices name="review" toName="output" choice="single" showInline="true">\n'
        f"{choice_tags}\n"
        "  </Choices>\n"
        f'  <TextArea name="{PREDICTION_FIELD}" toName="output" editable="true" maxSubmissions="1"'
        ' placeholder="Corrected output"/>\n'
        '  <TextArea name="comment" toName="output" placeholder="Comment"/>\n'
        "</View>"
    )


def config_variables(label_config: str) -> set[str]:
    """The ``$variables`` a labeling config reads from task data."""
    return set(_VARIABLE.findall(label_config))


def check_config(label_config: str, data_fields: set[str], *, where: str) -> None:
    """Refuse a labeling config that reads data fields review tasks do not have (Label Studio would reject
    every import with 400)."""
    unknown = sorted(config_variables(label_config) - data_fields)
    if unknown:
        raise ConfigurationError(
            f"{where}: the labeling config reads {', '.join('$' + v for v in unknown)}, which review tasks do not"
            f" have; task data fields: {', '.join(sorted(data_fields))}",
            platform="labelstudio",
        )


def truncate(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` cut to ``limit`` characters with a note of what was left out."""
    if len(text) <= limit:
        return text
    note = f"\n… [runtrack: {len(text) - limit} more characters not shown; see the run at its source]"
    return text[:limit] + note


def prediction(output_text: str | None, *, model_version: str, score: float | None = None) -> Mapping[str, Any]:
    """The review prediction: the output in the correction text area (empty result when there is no output)."""
    result: list[dict[str, Any]] = []
    if output_text:
        result.append(
            {
                "from_name": PREDICTION_FIELD,
                "to_name": "output",
                "type": "textarea",
                "value": {"text": [output_text]},
            }
        )
    return {"model_version": model_version, "result": result, "score": score}
