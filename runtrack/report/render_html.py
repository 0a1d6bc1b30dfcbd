"""``--format html``: one self-contained page (styles and charts inline, no script, no network) for people to read
and pass on: a summary per source, status over time, duration distributions, tokens and cost per day, stuck runs
with links to the vendor UI, top errors, review backlog and, from a store, what the last sync changed.

Charts are inline SVG drawn here (:mod:`.svg`): they need no JavaScript, print, follow light/dark through CSS
classes, and cost a few kilobytes whatever the number of runs. Every text from a platform (names, errors, scopes)
is HTML-escaped; links are kept only for ``http``/``https`` URLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from .. import metrics as m
from .._tables import fmt_cost, fmt_datetime, fmt_duration, fmt_rate
from ..model import Metric, RunStatus
from .aggregate import STATUSES, TOTAL, DayUsage, Report, SourceSummary
from .durations import DURATION_BINS
from .render_csv import csv_number
from .render_text import scope_rows, title
from .svg import Series, esc, histogram_bars, stacked_bars, stacked_hbar

__all__ = ["MAX_BARS", "render_html"]

#: the most recent buckets (hours or days) a time chart shows; older ones are summed in a note
MAX_BARS = 120
#: stuck runs listed per source (the oldest)
STUCK_SHOWN = 10
DAY = timedelta(days=1)
STATUS_SERIES: tuple[Series, ...] = tuple((s.value, s.value.lower()) for s in STATUSES)
BIN_NAMES = ("<1s", "1-10s", "10s-1m", "1-10m", "10m-1h", "1-6h", "6h-1d", ">1d")
assert len(BIN_NAMES) == len(DURATION_BINS) + 1

_CSS = """
:root{--bg:#fff;--fg:#1d2330;--muted:#5d6678;--line:#e3e6ec;--card:#f6f7f9;--accent:#3056d3;
--ok:#2f9e5b;--fail:#d64545;--run:#3b82f6;--queue:#e0a21b;--cancel:#8a8f98;--skip:#b7a3d9;--unk:#5f6b7a;
--bin:#6c8ed8;--warn-bg:#fff4e5;--bad-bg:#fdecec}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--fg:#e6e8ec;--muted:#9aa3b2;--line:#2b313b;
--card:#1c2027;--accent:#7ea2ff;--ok:#41b870;--fail:#ef6363;--run:#5b9bff;--queue:#f0b73a;--cancel:#8d939c;
--skip:#9e8bc4;--unk:#7d8898;--bin:#7f9fe6;--warn-bg:#3a2f1a;--bad-bg:#3b1f22}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:32px 0 10px;padding-bottom:4px;
border-bottom:1px solid var(--line)}h3{font-size:14px;margin:16px 0 6px}
.meta,.note{color:var(--muted);font-size:12.5px}.note{margin:4px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px;margin:16px 0}
.card{background:var(--card);border-radius:8px;padding:10px 12px}.card b{display:block;font-size:21px}
.card span{color:var(--muted);font-size:12px}
.card small{display:block;color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.04em}
.card.bad b{color:var(--fail)}.card.warn b{color:var(--queue)}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
th{color:var(--muted);font-weight:600;font-size:12px;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.err{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-word}
tr.failed td{background:var(--bad-bg)}tr.total td{font-weight:600}
.pill{display:inline-block;padding:0 7px;border-radius:9px;font-size:11.5px;font-weight:600}
.pill.ok{background:var(--ok);color:#fff}.pill.failed{background:var(--fail);color:#fff}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:12px;color:var(--muted);margin:4px 0}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:8px 24px}
svg.chart{width:100%;height:auto;display:block}
svg text.axis{fill:var(--muted);font-size:10px}svg line.grid{stroke:var(--line)}
svg line.base{stroke:var(--muted);stroke-width:1}svg rect.bin{fill:var(--bin)}svg rect.empty{fill:var(--line)}
.s-SUCCEEDED{fill:var(--ok);background:var(--ok)}.s-FAILED{fill:var(--fail);background:var(--fail)}
.s-RUNNING{fill:var(--run);background:var(--run)}.s-QUEUED{fill:var(--queue);background:var(--queue)}
.s-CANCELED{fill:var(--cancel);background:var(--cancel)}.s-SKIPPED{fill:var(--skip);background:var(--skip)}
.s-UNKNOWN{fill:var(--unk);background:var(--unk)}
.s-input_tokens{fill:var(--accent);background:var(--accent)}.s-output_tokens{fill:var(--queue);background:var(--queue)}
.s-total_tokens{fill:var(--bin);background:var(--bin)}.s-cost{fill:var(--ok);background:var(--ok)}
.s-pending{fill:var(--queue);background:var(--queue)}.s-reviewed{fill:var(--ok);background:var(--ok)}
a{color:var(--accent)}
.errbar{display:inline-block;height:8px;border-radius:2px;background:var(--fail);opacity:.75}
@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--line:#ccc;--card:#f3f3f3}
main{max-width:none;padding:0}h2{break-after:avoid}section,table,svg,.card{break-inside:avoid}
a{color:#000;text-decoration:none}.grid2{grid-template-columns:1fr}}
"""


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _legend(series: Sequence[Series]) -> str:
    items = "".join(f'<span><i class="s-{esc(k)}"></i>{esc(name)}</span>' for k, name in series)
    return f'<div class="legend">{items}</div>'


def _cell(text: str, *, number: bool = False, cls: str = "") -> str:
    classes = " ".join(c for c in ("n" if number else "", cls) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{esc(text)}</td>"


def _head(names: Sequence[str], numbers: Sequence[bool]) -> str:
    cells = "".join(
        f'<th class="n">{esc(n)}</th>' if num else f"<th>{esc(n)}</th>" for n, num in zip(names, numbers, strict=True)
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _link(url: str | None, text: str) -> str:
    if url and url.lower().startswith(("https://", "http://")):
        return f'<a href="{esc(url)}" rel="noreferrer noopener">{esc(text)}</a>'
    return esc(text)


# --------------------------------------------------------------------------- sections


def _cards(report: Report) -> str:
    total_runs = sum(s.totals.runs for s in report.sources)
    ok = sum(s.totals.status[RunStatus.SUCCEEDED] for s in report.sources)
    failed = sum(s.totals.status[RunStatus.FAILED] for s in report.sources)
    stuck = sum(s.totals.stuck for s in report.sources)
    pending = sum(s.totals.pending for s in report.sources)
    cost: dict[str, Decimal] = {}
    for s in report.sources:
        for currency, amount in s.totals.cost.items():
            cost[currency] = cost.get(currency, Decimal(0)) + amount
    down = [s.name for s in report.sources if s.errors]
    cards = [
        ("runs", "Runs", str(total_runs), f"in {_plural(len(report.sources), 'source')}", ""),
        (
            "success",
            "Success rate",
            fmt_rate(ok / (ok + failed)) if ok + failed else "–",
            f"{ok} succeeded, {failed} failed",
            "",
        ),
        ("stuck", "Stuck", str(stuck), "running or queued too long", "warn" if stuck else ""),
        ("pending", "Review backlog", str(pending), "runs awaiting review", ""),
        ("cost", "Cost", fmt_cost(cost, 2) or "–", "where the platform reports it", ""),
        (
            "failed-sources",
            "Failed sources",
            str(len(down)),
            ", ".join(down) or "every source read",
            "bad" if down else "",
        ),
    ]
    body = "".join(
        f'<div class="card {cls}" data-card="{esc(key)}"><small>{esc(name)}</small>'
        f'<b data-value="{esc(value)}">{esc(value)}</b><span>{esc(sub)}</span></div>'
        for key, name, value, sub, cls in cards
    )
    return f'<div class="cards">{body}</div>'


def _sources(report: Report) -> str:
    names = ("Source", "Adapter", "State", "Runs", "Success", "P50", "P95", "Stuck", "Pending", "Cost", "Read at")
    nums = (False, False, False, True, True, True, True, True, True, True, False)
    rows = []
    for src in report.sources:
        t = src.totals
        state = f'<td><span class="pill {esc(src.state)}">{esc(src.state)}</span></td>'
        rows.append(
            f'<tr class="{esc(src.state)}" data-source="{esc(src.name)}">{_cell(src.name)}{_cell(src.adapter)}{state}'
            f"{_cell(str(t.runs), number=True)}{_cell(fmt_rate(t.success_rate), number=True)}"
            f"{_cell(fmt_duration(t.durations.p50), number=True)}{_cell(fmt_duration(t.durations.p95), number=True)}"
            f"{_cell(str(t.stuck), number=True)}{_cell(str(t.pending), number=True)}"
            f"{_cell(fmt_cost(t.cost), number=True)}{_cell(fmt_datetime(src.read_at))}</tr>"
        )
        for error in src.errors:
            rows.append(f'<tr class="failed"><td></td><td colspan="10" class="err">{esc(error)}</td></tr>')
    return f'<table data-table="sources">{_head(names, nums)}<tbody>{"".join(rows)}</tbody></table>'


def _status_table(report: Report) -> str:
    names = ("Source", "Scope", "Runs", *(s.value.title() for s in STATUSES), "Success", "Stuck", "Mix")
    nums = (False, False, *([True] * (len(STATUSES) + 3)), False)
    rows = []
    for src, label, st in scope_rows(report):
        mix = stacked_hbar(
            chart="status-mix",
            label=f"{src.name} {label}",
            series=STATUS_SERIES,
            values=[st.status[s] for s in STATUSES],
        )
        cls = ' class="total"' if label == TOTAL else ""
        rows.append(
            f'<tr{cls} data-source="{esc(src.name)}" data-scope="{esc(label)}">{_cell(src.name)}{_cell(label)}'
            f"{_cell(str(st.runs), number=True)}"
            + "".join(_cell(str(st.status[s]), number=True) for s in STATUSES)
            + f"{_cell(fmt_rate(st.success_rate), number=True)}{_cell(str(st.stuck), number=True)}<td>{mix}</td></tr>"
        )
    return f'<table data-table="status">{_head(names, nums)}<tbody>{"".join(rows)}</tbody></table>'


def _window(firsts: Sequence[datetime], lasts: Sequence[datetime], step: timedelta) -> list[datetime]:
    """Every bucket start from the earliest first to the latest last, at most the last MAX_BARS of them: one x
    axis for all sources, so their charts line up."""
    if not firsts:
        return []
    first, last = min(firsts), max(lasts)
    count = int((last - first) / step) + 1
    start = first + step * max(0, count - MAX_BARS)
    return [start + step * i for i in range(min(count, MAX_BARS))]


def _ticks(starts: Sequence[datetime], hourly: bool) -> list[tuple[int, str]]:
    if not starts:
        return []
    fmt = "%m-%d %H:00" if hourly else "%Y-%m-%d"
    n = len(starts)
    picks = sorted({0, n // 2, n - 1} if n > 2 else set(range(n)))
    return [(i, starts[i].strftime(fmt)) for i in picks]


def _timeline(src: SourceSummary, starts: Sequence[datetime], hourly: bool) -> str:
    if not src.timeline:
        return f'<div><h3>{esc(src.name)}</h3><p class="note">No run has a creation or start time.</p></div>'
    by_start = {b.start: b for b in src.timeline}
    buckets = [by_start.get(s) for s in starts]
    earlier = sum(b.runs for b in src.timeline if b.start < starts[0])
    fmt = "%Y-%m-%d %H:00" if hourly else "%Y-%m-%d"
    chart = stacked_bars(
        chart="status-timeline",
        labels=[s.strftime(fmt) for s in starts],
        ticks=_ticks(starts, hourly),
        series=STATUS_SERIES,
        values=[[b.status[s] if b else 0 for s in STATUSES] for b in buckets],
    )
    untimed = src.totals.runs - sum(b.runs for b in src.timeline)
    notes = [
        f"{_plural(earlier, 'earlier run')}" if earlier else "",
        f"{_plural(untimed, 'run')} without a time" if untimed else "",
    ]
    shown = " and ".join(n for n in notes if n)
    note = f'<p class="note">Not drawn: {esc(shown)}.</p>' if shown else ""
    return f'<div data-source="{esc(src.name)}"><h3>{esc(src.name)}</h3>{chart}{note}</div>'


def _durations(report: Report) -> str:
    names = ("Source", "Scope", "Runs timed", "P50", "P95", "Max", "Distribution")
    nums = (False, False, True, True, True, True, False)
    rows = []
    for src, label, st in scope_rows(report):
        d = st.durations
        hist = histogram_bars(chart="durations", label=f"{src.name} {label}", bins=BIN_NAMES, counts=d.histogram)
        approx = "" if d.exact else " ≈"
        cls = ' class="total"' if label == TOTAL else ""
        rows.append(
            f'<tr{cls} data-source="{esc(src.name)}" data-scope="{esc(label)}">{_cell(src.name)}{_cell(label)}'
            f"{_cell(str(d.count), number=True)}{_cell(fmt_duration(d.p50) + approx, number=True)}"
            f"{_cell(fmt_duration(d.p95) + approx, number=True)}{_cell(fmt_duration(d.max), number=True)}"
            f"<td>{hist if d.count else ''}</td></tr>"
        )
    return f'<table data-table="durations">{_head(names, nums)}<tbody>{"".join(rows)}</tbody></table>'


def _tokens_of(u: DayUsage) -> list[float]:
    i, o = u.tokens.get(m.INPUT_TOKENS), u.tokens.get(m.OUTPUT_TOKENS)
    if i is not None or o is not None:
        return [float(i or 0), float(o or 0), 0.0]
    return [0.0, 0.0, float(u.tokens.get(m.TOTAL_TOKENS) or 0)]


def _usage(src: SourceSummary, starts: Sequence[datetime]) -> str:
    if not src.usage:
        return ""
    by_day = {u.day: u for u in src.usage}
    days = [by_day.get(s.date()) for s in starts]
    labels = [s.strftime("%Y-%m-%d") for s in starts]
    parts = [f'<div data-source="{esc(src.name)}"><h3>{esc(src.name)}</h3>']
    if any(u and u.tokens for u in days):
        token_series: list[Series] = [
            (m.INPUT_TOKENS, "input tokens"),
            (m.OUTPUT_TOKENS, "output tokens"),
            (m.TOTAL_TOKENS, "tokens (total only)"),
        ]
        parts.append(
            stacked_bars(
                chart="tokens-per-day",
                labels=labels,
                ticks=_ticks(starts, False),
                series=token_series,
                values=[_tokens_of(u) if u else [0.0, 0.0, 0.0] for u in days],
                unit="",
                height=160,
            )
        )
        parts.append(_legend(token_series))
    currencies = sorted({c for u in src.usage for c in u.cost})
    if currencies:
        currency = max(currencies, key=lambda c: sum(u.cost.get(c, Decimal(0)) for u in src.usage))
        parts.append(
            stacked_bars(
                chart="cost-per-day",
                labels=labels,
                ticks=_ticks(starts, False),
                series=[("cost", f"cost ({currency})")],
                values=[[float(u.cost.get(currency, 0)) if u else 0.0] for u in days],
                unit=currency,
                whole=False,
                height=140,
            )
        )
        others = (
            f"; other currencies: {', '.join(c for c in currencies if c != currency)}" if len(currencies) > 1 else ""
        )
        parts.append(f'<p class="note">Cost per day in {esc(currency)}{esc(others)}.</p>')
    parts.append("</div>")
    return "".join(parts)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _stuck(report: Report) -> str:
    names = ("Source", "Run", "Status", "Since", "For")
    rows = []
    now = report.settings.now
    for src in report.sources:
        for r in src.stuck_runs[:STUCK_SHOWN]:
            rows.append(
                f'<tr data-source="{esc(src.name)}">{_cell(src.name)}<td>{_link(r.url, r.name or r.native_id)}</td>'
                f"{_cell(r.status.value)}{_cell(fmt_datetime(r.since))}"
                f"{_cell(fmt_duration((now - r.since).total_seconds()), number=True)}</tr>"
            )
    total = sum(s.totals.stuck for s in report.sources)
    if not total:
        return '<p class="note">No stuck runs.</p>'
    shown = len(rows)
    note = f'<p class="note">The oldest {shown} of {total} stuck runs.</p>' if shown < total else ""
    head = _head(names, (False, False, False, False, True))
    return f'<table data-table="stuck">{head}<tbody>{"".join(rows)}</tbody></table>{note}'


def _errors(report: Report) -> str:
    rows = []
    for src in report.sources:
        top = src.totals.top_errors
        peak = max((e.count for e in top), default=1)
        for e in top:
            bar = f'<span class="errbar" style="width:{max(2, round(80 * e.count / peak))}px"></span>'
            rows.append(
                f'<tr data-source="{esc(src.name)}">{_cell(src.name)}{_cell(str(e.count), number=True)}'
                f'<td>{bar}</td><td class="err">{esc(e.message)}</td></tr>'
            )
    if not rows:
        return '<p class="note">No errors.</p>'
    head = _head(("Source", "Runs", "", "Error"), (False, True, False, False))
    return f'<table data-table="errors">{head}<tbody>{"".join(rows)}</tbody></table>'


def _review(report: Report) -> str:
    rows = []
    series: list[Series] = [("pending", "pending"), ("reviewed", "reviewed")]
    for src, label, st in scope_rows(report):
        if not st.pending and not st.reviewed:
            continue
        bar = stacked_hbar(chart="review", label=f"{src.name} {label}", series=series, values=[st.pending, st.reviewed])
        rows.append(
            f'<tr data-source="{esc(src.name)}" data-scope="{esc(label)}">{_cell(src.name)}{_cell(label)}'
            f"{_cell(str(st.pending), number=True)}{_cell(str(st.reviewed), number=True)}<td>{bar}</td></tr>"
        )
    if not rows:
        return '<p class="note">No run is in a review queue.</p>'
    head = _head(("Source", "Scope", "Pending", "Reviewed", ""), (False, False, True, True, False))
    return f'<table data-table="review">{head}<tbody>{"".join(rows)}</tbody></table>{_legend(series)}'


def _details(report: Report) -> str:
    names = ("Source", "Scope", "Accuracy", "Input tok", "Output tok", "Total tok", "Cost")
    nums = (False, False, True, True, True, True, True)
    rows = [
        f'<tr data-source="{esc(src.name)}" data-scope="{esc(label)}">{_cell(src.name)}{_cell(label)}'
        f"{_cell(fmt_rate(st.accuracy), number=True)}"
        + "".join(_cell(_metric(st.tokens.get(name)), number=True) for name in m.TOKENS)
        + f"{_cell(fmt_cost(st.cost), number=True)}</tr>"
        for src, label, st in scope_rows(report)
    ]
    return f'<table data-table="usage">{_head(names, nums)}<tbody>{"".join(rows)}</tbody></table>'


def _metric(value: Metric | None) -> str:
    return "" if value is None else csv_number(value)


def _changes(report: Report) -> str:
    if report.store is None:
        return ""
    names = ("Source", "Synced at", "Previous sync", "Read", "New", "Changed", "Deleted", "State", "Transitions")
    nums = (False, False, False, True, True, True, True, False, False)
    rows = []
    for c in report.changes:
        moves = ", ".join(
            f"{old.value.lower() if old else 'new'} → {new.value.lower()}: {n}"
            for (old, new), n in sorted(c.transitions.items(), key=lambda kv: -kv[1])
        )
        state = "complete" if c.complete else f"incomplete: {c.error or ''}"
        rows.append(
            f'<tr data-source="{esc(c.source)}">{_cell(c.source)}{_cell(fmt_datetime(c.finished_at))}'
            f"{_cell(fmt_datetime(c.previous_at) or '(first sync)')}{_cell(str(c.read), number=True)}"
            f"{_cell(str(c.inserted), number=True)}{_cell(str(c.changed), number=True)}"
            f"{_cell(str(c.deleted), number=True)}{_cell(state)}{_cell(moves)}</tr>"
        )
    body = (
        f'<table data-table="changes">{_head(names, nums)}<tbody>{"".join(rows)}</tbody></table>'
        if rows
        else '<p class="note">The store has no finished sync yet.</p>'
    )
    return f'<section id="changes"><h2>Changed since the previous sync</h2>{body}</section>'


def render_html(report: Report) -> str:
    s = report.settings
    hourly = report.bucket == "hour"
    since = f" · runs created since {fmt_datetime(s.since)}" if s.since else ""
    store = f" · from the store {report.store}" if report.store else ""
    stuck_after = fmt_duration(s.stuck_after.total_seconds())
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    with_times = [src.timeline for src in report.sources if src.timeline]
    starts = _window([t[0].start for t in with_times], [t[-1].start for t in with_times], step)
    timelines = "".join(_timeline(src, starts, hourly) for src in report.sources)
    with_usage = [src.usage for src in report.sources if src.usage]
    days = _window([_midnight(u[0].day) for u in with_usage], [_midnight(u[-1].day) for u in with_usage], DAY)
    usage = "".join(_usage(src, days) for src in report.sources)
    sections = [
        f'<section id="summary"><h2>Sources</h2>{_sources(report)}</section>',
        f'<section id="status"><h2>Runs by status</h2>{_legend(STATUS_SERIES)}{_status_table(report)}</section>',
        f'<section id="timeline"><h2>Status over time (per {"hour" if hourly else "day"}, by creation time)</h2>'
        f'{_legend(STATUS_SERIES)}<div class="grid2">{timelines}</div></section>',
        f'<section id="durations"><h2>Durations</h2>{_durations(report)}</section>',
        f'<section id="usage"><h2>Tokens and cost per day, accuracy</h2><div class="grid2">{usage}</div>'
        f"{_details(report)}</section>"
        if usage or any(src.totals.tokens or src.totals.cost for src in report.sources)
        else "",
        f'<section id="stuck"><h2>Stuck runs (running or queued for more than {esc(stuck_after)})</h2>'
        f"{_stuck(report)}</section>",
        f'<section id="errors"><h2>Top errors</h2>{_errors(report)}</section>',
        f'<section id="review"><h2>Review backlog</h2>{_review(report)}</section>',
        _changes(report),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>{esc(title(report))}</title><style>{_CSS}</style></head><body><main>"
        f'<h1>runtrack report</h1><p class="meta">generated {esc(fmt_datetime(s.now))}{esc(since)}{esc(store)}'
        f" · stuck after {esc(stuck_after)}</p>{_cards(report)}" + "".join(sections) + "</main></body></html>\n"
    )
