"""Plain-text and Markdown tables, and the small value formatters the CLI shares."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from .convert import format_datetime

__all__ = [
    "clip",
    "fmt_cost",
    "fmt_datetime",
    "fmt_duration",
    "fmt_rate",
    "is_terminal",
    "markdown_table",
    "text_table",
    "use_colour",
]


def is_terminal(stream: object) -> bool:
    """True when ``stream`` is a terminal (False for pipes, files, and streams without ``isatty``)."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def use_colour(stream: object, environ: Mapping[str, str] | None = None) -> bool:
    """Escape codes only on a terminal, and never when ``NO_COLOR`` is set (to anything non-empty, per
    no-color.org) or ``TERM=dumb``."""
    env = os.environ if environ is None else environ
    return is_terminal(stream) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] = ()) -> str:
    """Columns padded to their widest cell; ``right[i]`` right-aligns column ``i`` (numbers)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            is_right = i < len(right) and right[i]
            out.append(cell.rjust(widths[i]) if is_right else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _md_cell(text: str) -> str:
    for char in "\\|`<":
        text = text.replace(char, "\\" + char)
    return text.replace("\r", " ").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] = ()) -> str:
    """A GitHub-flavoured Markdown pipe table."""
    align = ["---:" if i < len(right) and right[i] else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_duration(seconds: float | None) -> str:
    """``850ms``, ``12.3s``, ``4m05s``, ``2h03m``, ``3d04h``; empty when unknown."""
    if seconds is None or math.isnan(seconds):
        return ""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 1:
        return f"{sign}{s * 1000:.0f}ms"
    if s < 60:
        return f"{sign}{s:.1f}s"
    whole = int(s)
    if whole < 3600:
        return f"{sign}{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{sign}{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{sign}{whole // 86400}d{whole % 86400 // 3600:02d}h"


def fmt_rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def fmt_cost(cost: Mapping[str, Decimal], places: int = 4) -> str:
    """``0.4075 USD + 1.00 EUR``: at most ``places`` decimals for display (JSON and CSV keep exact sums)."""
    step = Decimal(1).scaleb(-places)
    parts = []
    for currency, amount in sorted(cost.items()):
        exponent = amount.as_tuple().exponent
        shown = amount.quantize(step) if isinstance(exponent, int) and exponent < -places else amount
        parts.append(f"{shown} {currency}")
    return " + ".join(parts)


def clip(text: str, limit: int = 100) -> str:
    """One line of at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fmt_datetime(value: datetime | None) -> str:
    return "" if value is None else format_datetime(value.replace(microsecond=0))
