"""What the engine counts for /metrics (Prometheus): orders by venue and result, fills, candle cycles, waits."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ORDERS = Counter("tb_orders", "Orders sent to an exchange, by venue and result (open, closed, rejected, unknown...)",
                 ["venue", "result"])
FILLS = Counter("tb_fills", "Fills recorded (each trade once)", ["venue"])
CANDLE_CYCLE = Histogram("tb_candle_cycle_seconds", "One candle close: fetch, indicators and every bot on it",
                         ["timeframe"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
LAST_CLOSE = Gauge("tb_last_candle_close_seconds", "Close time (epoch seconds) of the last candle evaluated",
                   ["timeframe"])
BUDGET_WAIT = Gauge("tb_exchange_budget_wait_seconds", "Seconds callers were held back by the request budgets of "
                    "a venue's public data or of its accounts", ["budget"])
