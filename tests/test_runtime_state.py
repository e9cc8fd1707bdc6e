"""The runtime's typed state loads StrategyBot.state rows written before it existed and writes them back unchanged."""

from __future__ import annotations

from engine.runtime.grid_runner import LiveGrid
from engine.runtime.hyperrsi_runner import LiveHyperRsi
from engine.runtime.state import RuntimeState

# Rows as the runtime wrote them when these keys lived in BotHandle.meta (an untyped dict).
OLD_HYPERRSI = {"cursor": 1_722_600_000_123, "candle": 1_722_608_100_000, "started_ms": 1_722_600_000_000,
                "pending_floor": 7, "strategy": {"side": "long", "size": 0.01, "average": 60_000.0, "last_fill": 60_000.0,
                                                 "pyramid_count": 1, "tp_base_size": 0.01, "tp_stage": 0, "stop": 58_800.0,
                                                 "stop_reason": "sl", "trailing": False, "best": 60_500.0, "atr": None,
                                                 "cooldown_until": -1, "pending": "", "realized_pnl": 0.0, "fees": 0.03,
                                                 "entries_notional": 600.0, "lot": 0.001}}
OLD_GRID = {"cursor": 5, "candle": 1_722_608_100_000, "started_ms": 1_722_600_000_000, "close_avg": 3_012.5,
            "flat_seen": 1, "strategy": None}


def test_an_old_state_row_round_trips_through_the_typed_state():
    for row in (OLD_HYPERRSI, OLD_GRID):
        rt = RuntimeState.from_json(row)
        assert rt.to_json() == {k: v for k, v in row.items() if k != "strategy"}
    rt = RuntimeState.from_json(OLD_GRID)
    assert (rt.cursor, rt.candle, rt.started_ms, rt.close_avg, rt.flat_seen, rt.pending_floor) == (
        5, 1_722_608_100_000, 1_722_600_000_000, 3_012.5, 1, None)
    strategy = OLD_HYPERRSI["strategy"]
    encoded = LiveHyperRsi.encode(LiveHyperRsi.decode(strategy))
    assert {k: encoded[k] for k in strategy} == strategy  # fields added since keep their defaults
    assert LiveGrid().encode(LiveGrid().decode(None)) is None


def test_a_row_without_runtime_keys_loads_empty_and_writes_nothing():
    assert RuntimeState.from_json(None).to_json() == {}
    assert RuntimeState.from_json({"strategy": None}).to_json() == {}
