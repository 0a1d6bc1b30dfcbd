"""The names every adapter uses for ``Run.metrics`` keys (and the currency scope key).

Tokens follow the OpenTelemetry GenAI conventions (``input``/``output``). Money is a ``Decimal`` in the currency
named by ``Run.scope[CURRENCY]`` (USD when absent). Accuracy is kept as counts so reports can re-aggregate it
(sum of correct / sum of predictions), never as an average of averages. An unknown value is absent, never 0.
"""

from __future__ import annotations

INPUT_TOKENS = "input_tokens"
OUTPUT_TOKENS = "output_tokens"
TOTAL_TOKENS = "total_tokens"
INPUT_COST = "input_cost"
OUTPUT_COST = "output_cost"
TOTAL_COST = "total_cost"
TASKS = "tasks"
PREDICTIONS = "predictions"
CORRECT = "correct"
ACCURACY = "accuracy"
#: ``Run.scope`` key naming the currency of the cost metrics
CURRENCY = "currency"
DEFAULT_CURRENCY = "USD"

TOKENS = (INPUT_TOKENS, OUTPUT_TOKENS, TOTAL_TOKENS)
