"""Notification numbers for people: prices to the tick, amounts to the lot in base units, money to 2 decimals."""

from __future__ import annotations

import re

import pytest

from bot.i18n import LANGUAGES, make_i18n
from bot.notifier_fields import kind_of
from bot.notifier_render import i18n_translate, render
from tests.number_scan import Rules, too_precise

TR = i18n_translate(make_i18n())
SWAP = {"base": "BTC", "quote": "USDT", "price_step": "0.1", "amount_step": "0.0001", "contract_size": "0.01"}
SPOT = {"base": "DOGE", "quote": "USDT", "price_step": "0.00001", "amount_step": "1", "contract_size": "1"}
RULES = [Rules("BTC", "USDT", 1, 4), Rules("DOGE", "USDT", 5, 0)]
# what was seen in the chat (issue 13, item 8): float noise in a grid fill message
SEEN = {"bot_id": 7, "symbol": "BTC/USDT:USDT", "side": "buy", "role": "grid_entry", "level": 3,
        "price": "61633.60000000001", "amount": "0.0008", "fee": "0.0246559998136", "fee_currency": "USDT",
        "pnl": "0.24217204799999886", "kind_detail": "grid_entry", "position": "0.0007000000000000001",
        "realized_pnl": "-10.590000000000002", "_market": SWAP}


def test_the_seen_float_noise_is_shown_to_the_markets_precision():
    lines = render("fill", SEEN, "en", TR).splitlines()
    assert "Buy 0.0008 BTC @ 61,633.6" in lines
    assert "Fee: 0.02 USDT" in lines
    assert "This trade's realised PnL (before fees): 0.24 USDT" in lines
    assert "Position after this: 0.0007 BTC" in lines
    assert "Bot's realised PnL in total (before fees): -10.59 USDT" in lines


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("market", [SWAP, SPOT])
def test_every_kind_with_a_market_keeps_to_its_decimals(lang, market):
    noisy = {"price": "0.1234567891234567", "amount": 1.0000000000000002, "fee": 0.000123456789,
             "fee_currency": "USDT", "pnl": -0.30000000000000004}
    payloads = {
        "fill": {**noisy, "bot_id": 1, "symbol": "S", "side": "sell", "role": "grid_exit", "position": "-2.2e-17",
                 "realized_pnl": "1e-9"},
        "entry": {**noisy, "bot_id": 1, "side": "buy", "role": "entry", "position_side": "long",
                  "size": "3.0000000000000004", "average": 61000.123456, "pyramid_count": 2},
        "take_profit": {**noisy, "stage": 2, "size": 0.30000000000000004, "realized_pnl": 12.000000001},
        "stop_loss": {**noisy, "stop_reason": "trailing", "size": "0", "realized_pnl": "-0.004999"},
        "trailing_moved": {"stop": 61234.56789, "previous": 61200.0000001, "reason": "trailing",
                           "candle_ts": 1_722_470_400_000},
        "note": {"reason": "below_minimum", "candle_ts": 1_722_470_400_000,
                 "details": {"rsi": 28.123456, "rsi_prev": 31.98765, "trend": -2, "amount": 0.000123456789,
                             "cost": 4.99999999, "min_amount": 1e-05, "min_cost": 5.0, "price": 61234.56789}},
        "pyramid": {"reason": "below_minimum", "details": {"level": 60123.456789, "reference": 61000.55555,
                                                          "price": 60100.0001, "n": 2, "margin": 33.333333333}},
        "grid_stopped": {"reason": "grid_stop_loss", "position": "0.30000000000000004",
                         "realized_pnl": "-5.123456"},
        "bot_stopped": {"kind": "grid", "close_position": True, "cancelled": 4, "closed": "0.0007000000000000001",
                        "emergency": False},
        "order_rejected": {"reason": "insufficient_funds", "role": "grid_entry", "side": "buy",
                           "amount": "0.00070000001", "price": "61633.6123"},
    }
    for kind, payload in payloads.items():
        text = render(kind, {**payload, "_market": market}, lang, TR)
        assert not too_precise(text, RULES), (kind, text)
        assert not re.search(r"\de-|-0\.0+\b", text), (kind, text)


def test_amounts_and_money_carry_their_currency_and_prices_their_tick():
    text = render("entry", {"bot_id": 1, "symbol": "BTC/USDT:USDT", "side": "buy", "role": "entry",
                            "price": "61633.64", "amount": "0.0164", "position_side": "long", "size": "0.0164",
                            "average": "61633.64", "pyramid_count": 0, "fee": "0.6", "fee_currency": "USDT",
                            "_market": SWAP}, "ko", TR)
    assert "0.0164 BTC @ 61,633.6" in text
    assert "61,633.6" in text.split("0.0164 BTC", 2)[-1]  # the average, to the tick


def test_a_pyramid_notes_level_is_a_price_and_a_grid_notes_level_an_index():
    assert kind_of("level", {"reference": 1.0}) == "price"
    assert kind_of("level", {"price": 1.0}) == "other"
    text = render("note", {"reason": "below_minimum", "details": {"level": 5, "amount": 0.00012, "cost": 4.9999},
                           "_market": SWAP}, "en", TR)
    assert ": 5\n" in text + "\n" and "0.0001 BTC" in text and "5.00 USDT" in text


def test_without_a_market_the_fallback_is_bounded():
    text = render("fill", {k: v for k, v in SEEN.items() if k != "_market"}, "en", TR)
    assert "Position after this: 0.0007" in text and "PnL (before fees): 0.24" in text and "Fee: 0.02 USDT" in text
    assert not too_precise(text, [Rules("BTC", "USDT", 8, 8)])
    assert "0.0007000000000000001" not in text


def test_a_fee_in_the_base_coin_is_not_rounded_to_cents():
    text = render("fill", {**SEEN, "fee": "0.000000812", "fee_currency": "BTC"}, "en", TR)
    assert "Fee: 0.00000081 BTC" in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_hyperrsi_entry_as_the_runtime_writes_it_reads_as_sentences(lang):
    """The runtime's entry has position_side and average beside `position` (no `size`): no raw key may show, and a
    HYPERRSI order's `level` (0 for a stop, the stage for a take-profit) is not called a grid level."""
    entry = {"bot_id": 3, "symbol": "BTC/USDT:USDT", "side": "buy", "role": "entry", "level": None,
             "price": "63896.07666", "amount": "0.0156", "fee": "0.4983893979480", "fee_currency": "USDT", "pnl": "0",
             "_market": SWAP, "position_side": "long", "average": "63896.0766600", "pyramid_count": 0,
             "position": "0.015600000000000000", "realized_pnl": "0", "fees": "0.498389397948"}
    text = render("entry", entry, lang, TR)
    assert not re.search(r"^(position_side|average):", text, re.M), text
    assert "63,896.1" in text.split("\n", 3)[-1], text  # the average, to the tick
    stop = {**entry, "role": "sl", "level": 0, "stop_reason": "sl"}
    for k in ("position_side", "average", "pyramid_count"):
        stop.pop(k)
    assert render("stop_loss", stop, "en", TR).count("Grid level") == 0
    grid = render("fill", {**SEEN, "level": 0}, "en", TR)
    assert "Grid level: 0" in grid


def test_ids_and_counts_are_not_grouped_or_rounded():
    text = render("note", {"reason": "unexpected_fill", "_market": SWAP,
                           "details": {"trade": "1234567890", "level": 12, "seq": 3, "ratio": "0.123456789"}}, "en", TR)
    assert "1234567890" in text and "1,234,567,890" not in text
    assert "0.1235" in text  # a number of no known kind: to the market's most decimals


@pytest.mark.parametrize(("lang", "flat"), [("en", "Position after this: none (flat)"), ("ko", "체결 후 포지션: 없음")])
def test_a_closed_position_reads_as_none_not_as_zero_coins(lang, flat):
    # seen in a transcript: "Position after this: 0.0000 BTC" after a close (and -2.2e-17 from float noise)
    for zero in ("0", "-2.2e-17", 0.0):
        lines = render("fill", {**SEEN, "position": zero}, lang, TR).splitlines()
        assert flat in lines, lines
