"""The typed columns the store keeps next to each run for the report's aggregation (store schema 2): the hour of
the run, its duration in microseconds, its integer token and accuracy counts and its cost as an exact integer of
10^-12 units, so that ``runtrack report --store`` sums narrow typed columns (one covering index) instead of
parsing ``metrics_json`` of every run.

The values are exact or absent: a report metric the columns cannot hold exactly (a float or Decimal token count,
a cost with more than :data:`COST_SCALE` decimals) sets ``metrics_odd``, and the report folds that run's metrics
from its JSON instead. Metric names come from :mod:`runtrack.metrics`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .. import metrics as m

__all__ = ["COLUMNS", "COST_SCALE", "INT_METRICS", "load_metrics", "report_values", "stored_values"]

#: metrics kept as integer columns of the same name (accuracy counts only when a run has both)
INT_METRICS = (*m.TOKENS, m.PREDICTIONS, m.CORRECT)
#: decimals of ``cost_units``: a cost is kept as an integer count of 10^-COST_SCALE units of its currency
COST_SCALE = 12
#: the columns, in the order :func:`report_values` returns them
COLUMNS = ("hour", "duration_us", *INT_METRICS, "cost_units", "cost_places", "currency", "metrics_odd")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_HOUR = timedelta(hours=1)
_MICROSECOND = timedelta(microseconds=1)
_INT64 = 2**63


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _integer(value: Any) -> int | None:
    """An int that SQLite holds exactly, else None."""
    return value if type(value) is int and -_INT64 <= value < _INT64 else None


def report_values(
    at: datetime | None,
    started: datetime | None,
    ended: datetime | None,
    metrics: Mapping[str, Any],
    scope: Mapping[str, Any],
) -> tuple[Any, ...]:
    """The :data:`COLUMNS` of a run (``at``: its created time, else its start)."""
    hour = None if at is None else (_aware(at) - _EPOCH) // _HOUR
    duration = None if started is None or ended is None else (_aware(ended) - _aware(started)) // _MICROSECOND
    odd = False
    ints: list[int | None] = []
    for name in m.TOKENS:
        value = metrics.get(name)
        ints.append(_integer(value))
        odd = odd or (value is not None and ints[-1] is None)
    predictions, correct = metrics.get(m.PREDICTIONS), metrics.get(m.CORRECT)
    if predictions is not None and correct is not None:
        pair = (_integer(predictions), _integer(correct))
        odd = odd or None in pair
        ints.extend(pair)
    else:
        ints.extend((None, None))
    units = places = currency = None
    cost = metrics.get(m.TOTAL_COST)
    if cost is not None:
        currency = str(scope.get(m.CURRENCY) or m.DEFAULT_CURRENCY)
        amount = cost if isinstance(cost, Decimal) else Decimal(str(cost))
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -COST_SCALE:
            units = _integer(int(amount.scaleb(COST_SCALE)))
            places = max(0, -exponent)
        odd = odd or units is None
    return (hour, duration, *ints, units, places, currency, int(odd))


def load_metrics(metrics_json: str) -> dict[str, Any]:
    """``Run.metrics`` from the ``metrics_json`` column (decimal strings are Decimals, as in the document)."""
    return {k: Decimal(v) if isinstance(v, str) else v for k, v in json.loads(metrics_json).items()}


def stored_values(
    at: str | None, started: str | None, ended: str | None, metrics_json: str, scope_json: str
) -> tuple[Any, ...]:
    """:func:`report_values` of a stored row (its text columns): how an older store fills the columns in place."""
    from ..convert import parse_datetime

    times = (parse_datetime(at), parse_datetime(started), parse_datetime(ended))
    return report_values(*times, load_metrics(metrics_json), json.loads(scope_json))
