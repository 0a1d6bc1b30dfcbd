"""Charts as inline SVG strings, drawn on the server: no script, no library, styled by the page's CSS classes (so
light, dark and print follow the page). Every mark carries ``data-*`` attributes with its numbers and a
``<title>`` tooltip; every text goes through :func:`esc`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["Series", "axis", "esc", "histogram_bars", "stacked_bars", "stacked_hbar"]

Series = tuple[str, str]  #: (key used in data-series and the CSS class, label shown in the legend)


def esc(value: object) -> str:
    """HTML-escaped text, quotes included: safe in element content and in attribute values."""
    return escape(str(value), quote=True)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def axis(value: float, *, whole: bool) -> tuple[float, float]:
    """(top, step) of an axis over 0..value: a step of 1, 2 or 5 times a power of ten, at most 5 steps; with
    ``whole`` (counts) the step is at least 1."""
    if value <= 0:
        return 1.0, 1.0 if whole else 0.25
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(k * power for k in (1, 2, 5, 10) if k * power >= raw)
    if whole:
        step = max(1.0, float(round(step)))
    return step * math.ceil(value / step - 1e-9), float(step)


def _short(value: float) -> str:
    """Axis labels: 950, 1.2k, 3M."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return _num(value / limit) + suffix
    return _num(value) if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def stacked_bars(
    *,
    chart: str,
    labels: Sequence[str],
    ticks: Sequence[tuple[int, str]],
    series: Sequence[Series],
    values: Sequence[Sequence[float]],
    unit: str = "runs",
    whole: bool = True,
    width: int = 720,
    height: int = 200,
) -> str:
    """Vertical bars, one per label, stacked by series (``values[i][j]``: bar ``i``, series ``j``). ``ticks``
    names some bars on the x axis: (index, text)."""
    left, right, top, bottom = 44, 12, 8, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(v) for v in values]
    top_value, step = axis(max(totals, default=0), whole=whole)
    n = max(1, len(labels))
    slot = plot_w / n
    bar = min(28.0, max(1.0, slot * 0.8))
    out = [
        f'<svg class="chart" data-chart="{esc(chart)}" viewBox="0 0 {width} {height}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" aria-label="{esc(chart)}">'
    ]
    for k in range(round(top_value / step) + 1):
        y = top + plot_h * (1 - k * step / top_value)
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}"/>')
        out.append(f'<text class="axis" x="{left - 6}" y="{_num(y + 4)}" text-anchor="end">')
        out.append(f"{esc(_short(k * step))}</text>")
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for (key, name), v in zip(series, row, strict=True):
            if v <= 0:
                continue
            h = plot_h * v / top_value
            y -= h
            out.append(
                f'<rect class="s-{esc(key)}" x="{_num(x)}" y="{_num(y)}" width="{_num(bar)}" height="{_num(h)}" '
                f'data-label="{esc(label)}" data-series="{esc(key)}" data-value="{esc(_plain(v))}">'
                f"<title>{esc(label)}: {esc(_plain(v))} {esc(name)} {esc(unit)}</title></rect>"
            )
    for i, text in ticks:
        x = left + i * slot + slot / 2
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        x = left if anchor == "start" else width - right if anchor == "end" else x
        out.append(f'<text class="axis" x="{_num(x)}" y="{height - 6}" text-anchor="{anchor}">{esc(text)}</text>')
    out.append(f'<line class="base" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    out.append("</svg>")
    return "".join(out)


def _plain(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.6g}"


def stacked_hbar(*, chart: str, label: str, series: Sequence[Series], values: Sequence[float], width: int = 150) -> str:
    """One horizontal bar split by series, as wide as the whole (a proportion, e.g. a status mix)."""
    total = sum(values)
    out = [
        f'<svg class="hbar" data-chart="{esc(chart)}" data-label="{esc(label)}" viewBox="0 0 {width} 14" '
        f'width="{width}" height="14" role="img" aria-label="{esc(chart)} {esc(label)}">'
    ]
    x = 0.0
    for (key, name), v in zip(series, values, strict=True):
        if v <= 0 or total <= 0:
            continue
        w = width * v / total
        out.append(
            f'<rect class="s-{esc(key)}" x="{_num(x)}" y="0" width="{_num(w)}" height="14" '
            f'data-series="{esc(key)}" data-value="{esc(_plain(v))}"><title>{esc(_plain(v))} {esc(name)}</title></rect>'
        )
        x += w
    if total <= 0:
        out.append(f'<rect class="empty" x="0" y="0" width="{width}" height="14"/>')
    out.append("</svg>")
    return "".join(out)


def histogram_bars(*, chart: str, label: str, bins: Sequence[str], counts: Sequence[int], width: int = 360) -> str:
    """A small histogram: one bar per bin, heights relative to the largest bin, bin names under the first/last."""
    height, base = 44, 32
    n = max(1, len(counts))
    slot = width / n
    peak = max(counts, default=0) or 1
    out = [
        f'<svg class="hist" data-chart="{esc(chart)}" data-label="{esc(label)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{esc(chart)} {esc(label)}">'
    ]
    for i, (name, c) in enumerate(zip(bins, counts, strict=True)):
        h = (base - 2) * c / peak
        x = i * slot + 1
        out.append(
            f'<rect class="bin" x="{_num(x)}" y="{_num(base - h)}" width="{_num(slot - 2)}" height="{_num(h)}" '
            f'data-bin="{esc(name)}" data-value="{c}"><title>{esc(name)}: {c} runs</title></rect>'
        )
        middle = _num(x + (slot - 2) / 2)
        out.append(f'<text class="axis" x="{middle}" y="{height - 2}" text-anchor="middle">{esc(name)}</text>')
    out.append(f'<line class="base" x1="0" x2="{width}" y1="{base}" y2="{base}"/>')
    out.append("</svg>")
    return "".join(out)
