"""The typed notification contract: payloads, dedup keys and reading back (engine/notices.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine import notices as n

MARKET = n.MarketInfo(base="BTC", quote="USDT", price_step="0.1", amount_step="0.001", contract_size="0.01")


def _fill(model=n.FillNotice, **extra):
    return model(account_id=3, trade_id="T-1", bot_id=7, symbol="BTC/USDT:USDT", side="sell", role="take_profit",
                 level=1, price=Decimal("60000.5"), amount=Decimal("0.010"), fee=Decimal("0.30"),
                 fee_currency="USDT", pnl=Decimal("10.25"), market=MARKET, **extra)


def test_a_fill_payload_is_plain_json_in_its_field_order_with_the_market_hidden_under_an_underscore():
    tp = _fill(n.TakeProfitNotice, stage=1, position=Decimal("0.020"), realized_pnl=Decimal("10.25"),
               fees=Decimal("0.60"))
    p = tp.payload()
    assert list(p) == ["bot_id", "symbol", "side", "role", "level", "price", "amount", "fee", "fee_currency", "pnl",
                       "_market", "stage", "position", "realized_pnl", "fees"]
    assert p["amount"] == "0.010" and p["pnl"] == "10.25"  # decimals as given, never floats
    assert p["_market"]["contract_size"] == "0.01"
    assert "account_id" not in p and "trade_id" not in p
    assert tp.kind == "take_profit" and tp.dedup_key() == "fill:3:T-1"  # one key for a trade, whatever its kind


def test_fields_not_given_are_not_in_the_payload_but_a_given_none_is():
    p = _fill().payload()
    assert "stage" not in p and "kind_detail" not in p
    rej = n.OrderRejected(bot_id=1, symbol="S", reason="insufficient_funds", role="grid_entry", side="buy",
                          amount=Decimal("1"), price=None, attempts=10, retry_in_s=40, level=4, since_ms=99)
    assert rej.payload()["price"] is None
    assert rej.dedup_key() == "rejected:1:grid_entry:4:99:10"


@pytest.mark.parametrize("notice, key", [
    (n.TrailingMoved(bot_id=2, symbol="S", stop=1.5, previous=None, reason="sl", candle_ts=60_000),
     "trailing:2:60000"),
    (n.Note(bot_id=2, symbol="S", reason="below_minimum", details={"level": 3, "x": float("nan")}, candle_ts=5),
     "note:2:5:below_minimum:3"),
    (n.Note(bot_id=2, symbol="S", reason="late_entry_fill", details={}, candle_ts=5), "note:2:5:late_entry_fill"),
    (n.BotError(bot_id=2, symbol="S", error="E" * 200, where="candle", now_ms=125_000),
     "bot_error:2:candle:" + "E" * 60 + ":2"),
    (n.GridStopped(bot_id=2, symbol="S", reason="grid_stop_loss", position=Decimal("-0.5"),
                   realized_pnl=Decimal("-3"), fees=Decimal("0.1"), started_ms=77), "grid_stopped:2:77"),
    (n.BotStopped(bot_id=2, symbol="S", kind="grid", close_position=True, cancelled=3, closed=Decimal("0"),
                  emergency=False, started_ms=77), "bot_stopped:2:77"),
    (n.RecoverySummary(bots=1, fills=2, closed_out=0, adopted=0, resolved=1, placed=4, user_id=9, started_ms=77),
     "recovery:9:77"),
    (n.AdminAlert(what="bot_error", error="ValueError", bot_id=2, identity=("2", "candle", "x" * 50),
                  now_ms=1_200_000, admin_id=5), "admin_alert:bot_error:2:candle:" + "x" * 40 + ":2:5"),
])
def test_every_kind_has_its_dedup_key_and_reads_back_to_the_same_payload(notice, key):
    assert notice.dedup_key() == key
    back = n.parse(notice.kind, notice.payload())
    assert type(back) is type(notice) and back.payload() == notice.payload()


def test_a_note_keeps_only_json_numbers_and_a_bot_error_a_short_reason():
    note = n.Note(bot_id=1, symbol="S", reason="r", details={"a": float("inf"), "b": (1, 2)}, candle_ts=0)
    assert note.payload()["details"] == {"a": None, "b": [1, 2]}
    assert len(n.BotError(bot_id=1, symbol="S", error="x" * 500, where="start", now_ms=0).payload()["error"]) == 120


def test_a_bot_stopped_payload_names_the_strategy_kind_as_kind():
    p = n.BotStopped(bot_id=1, symbol="S", kind="hyperrsi", close_position=False, cancelled=0, closed=Decimal(0),
                     emergency=True, started_ms=0).payload()
    assert p["kind"] == "hyperrsi" and p["emergency"] is True


def test_unknown_kinds_and_refused_payloads_read_as_none():
    assert n.parse("no_such_kind", {}) is None
    assert n.parse("fill", {"bot_id": "not a number"}) is None


def test_urgent_kinds_are_the_ones_about_money():
    assert set(n.URGENT) == {"fill", "entry", "take_profit", "stop_loss", "bot_stopped", "grid_stopped"}
