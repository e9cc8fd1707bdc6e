"""HYPERRSI signals, levels and prices: the seed's worked examples (seed-hyperrsi.md §7), exactly."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from engine.strategies.fields import describe
from engine.strategies.hyperrsi import (
    PRESETS,
    HyperRsiSettings,
    dca_levels,
    entry_signal,
    tp_price,
    trend_allows,
)


def S(**kw) -> HyperRsiSettings:
    return HyperRsiSettings(**kw)


def test_1_threshold():
    s = S(rsi_entry_option="threshold")
    assert entry_signal(s, 50, 29.9) == "long"
    assert entry_signal(s, 50, 30.0) is None


def test_2_cross():
    s = S(rsi_entry_option="cross")
    assert entry_signal(s, 31, 29) == "long"
    assert entry_signal(s, 29, 28) is None  # already inside


def test_3_cross_back():
    s = S(rsi_entry_option="cross_back")
    assert entry_signal(s, 28, 31) == "long"
    assert entry_signal(s, 72, 69) == "short"


def test_4_turn():
    s = S(rsi_entry_option="turn")
    assert entry_signal(s, 25, 27) == "long"
    assert entry_signal(s, 35, 36) is None


def test_5_trend_gate():
    assert not trend_allows("long", -2)
    assert trend_allows("long", 2) and trend_allows("long", 0)
    assert not trend_allows("short", 2) and trend_allows("short", -2)


def test_6_dca_levels():
    s = S()
    assert dca_levels(s, "long", 100, math.nan, 3) == pytest.approx([97, 94.09, 91.2673])
    assert dca_levels(s, "short", 100, math.nan, 3) == pytest.approx([103, 106.09, 109.2727])
    atr = S(pyramiding_entry_type="atr", pyramiding_value=2)
    assert dca_levels(atr, "long", 100, 1.5, 2) == pytest.approx([97, 94])
    assert dca_levels(atr, "long", 100, math.nan, 1) == pytest.approx([97])  # no ATR yet: 3 %
    assert dca_levels(S(pyramiding_entry_type="price", pyramiding_value=5), "short", 100, math.nan, 2) == [105, 110]


def test_7_add_sizes():
    s = S()
    assert [s.investment * s.entry_multiplier**n for n in (1, 2, 3)] == pytest.approx([160, 256, 409.6])


def test_8_tp_percentage_and_clamp():
    s = S()
    assert [tp_price(s, "long", 100, k, math.nan) for k in (1, 2, 3)] == pytest.approx([102, 103, 104])
    assert [tp_price(s, "short", 100, k, math.nan) for k in (1, 2, 3)] == pytest.approx([98, 97, 96])
    tiny = S(tp1_value=0.001, tp2_value=0.002, tp3_value=0.003)
    assert tp_price(tiny, "long", 100, 1, math.nan) == pytest.approx(100.01)
    assert tp_price(tiny, "short", 100, 1, math.nan) == pytest.approx(99.99)


def test_9_atr_floor():
    s = S(tp_option="atr", tp1_value=2, tp2_value=3, tp3_value=4)
    assert tp_price(s, "long", 100, 1, 0.05) == pytest.approx(100.2)
    assert tp_price(s, "long", 100, 1, 0.5) == pytest.approx(101.0)


def test_nan_rsi_never_signals():
    assert entry_signal(S(), math.nan, math.nan) is None
    assert entry_signal(S(rsi_entry_option="cross"), math.nan, 20) is None


def test_direction_limits_sides():
    assert entry_signal(S(direction="short"), 50, 20) is None
    assert entry_signal(S(direction="long"), 50, 80) is None
    assert entry_signal(S(direction="both"), 50, 80) == "short"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"rsi_oversold": 70, "rsi_overbought": 30}, "below rsi_overbought"),
        ({"tp1_ratio": 50, "tp2_ratio": 40, "tp3_ratio": 20}, "more than 100"),
        ({"tp1_value": 3, "tp2_value": 2}, "further from the entry"),
        ({"pyramiding_value": 60}, "from 0.1 to 50"),
        ({"rsi_period": 1}, "greater than or equal to 2"),
        ({"leverage": 126}, "less than or equal to 125"),
        ({"trailing_stop_active": True, "use_tp3": False}, "not enabled"),
        ({"unknown_field": 1}, "Extra inputs"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(kw, message):
    with pytest.raises(ValidationError, match=message):
        S(**kw)


def test_disabled_tp_ratios_do_not_count():
    S(use_tp3=False, tp1_ratio=60, tp2_ratio=40, tp3_ratio=90)


def test_every_setting_is_described_for_the_editor():
    specs = describe(HyperRsiSettings)
    assert {s.name for s in specs} == set(HyperRsiSettings.model_fields)
    by = {s.name: s for s in specs}
    assert by["rsi_period"].minimum == 2 and by["rsi_period"].maximum == 100 and by["rsi_period"].kind == "int"
    assert by["direction"].choices == ("long", "short", "both")
    assert by["use_sl"].kind == "bool" and by["investment"].exclusive_minimum
    assert by["timeframe"].choices[0] == "1m"
    for name, preset in PRESETS.items():
        S(**preset)  # every preset is valid
        assert name


def test_margin_loss_of_a_stop():
    assert S(use_sl=True, sl_value=2, leverage=20).stop_margin_loss_pct() == 40


@pytest.fixture(scope="module")
def btc_15m_inputs(shared_data):
    from engine.candles import load_csv
    from engine.strategy_inputs import hyperrsi_inputs

    return hyperrsi_inputs(HyperRsiSettings(timeframe="15m"), load_csv(shared_data / "BTC_USDT-15m.csv"))


@pytest.mark.parametrize("mode", ["threshold", "cross", "cross_back", "turn"])
@pytest.mark.parametrize(("direction", "entry_option"), [("both", "rsi_trend"), ("long", "rsi_only"),
                                                          ("short", "rsi_trend")])
def test_vectorised_signals_equal_the_scalar_ones_on_real_candles(btc_15m_inputs, mode, direction, entry_option):
    """The backtest asks the vectorised forms where a flat bot opens, where an add's RSI and trend conditions
    hold and where the trend closes a position; on every real candle they say what the scalar steps say."""
    from engine.strategies.hyperrsi_signals import (
        add_mask,
        entry_mask,
        side_signal,
        side_signals,
        trend_close_mask,
        trend_closes,
    )

    x = btc_15m_inputs
    s = S(rsi_entry_option=mode, direction=direction, entry_option=entry_option, rsi_oversold=35,
          rsi_overbought=65)
    long, short = side_signals(s, x.rsi_prev, x.rsi)
    entry = entry_mask(s, x.rsi_prev, x.rsi, x.trend_state)
    adds = {side: add_mask(s, side, sig, x.trend_state) for side, sig in (("long", long), ("short", short))}
    closes = {side: trend_close_mask(side, x.trend_state) for side in ("long", "short")}
    assert entry.any() and long.any() and short.any()
    for i in range(len(x)):
        p, r, t = float(x.rsi_prev[i]), float(x.rsi[i]), int(x.trend_state[i])
        assert (bool(long[i]), bool(short[i])) == (side_signal(s, "long", p, r), side_signal(s, "short", p, r)), i
        side = entry_signal(s, p, r)
        assert bool(entry[i]) == (side is not None and (entry_option == "rsi_only" or trend_allows(side, t))), i
        for sd in ("long", "short"):
            assert bool(adds[sd][i]) == (side_signal(s, sd, p, r) and trend_allows(sd, t)), i
            assert bool(closes[sd][i]) == trend_closes(sd, t), i
    slack_long, _ = side_signals(s, x.rsi_prev, x.rsi, 1e-9)
    assert not (long & ~slack_long).any()  # with slack: a superset
