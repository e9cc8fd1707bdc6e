"""The margin and funds model (engine/exchange/margin.py): reservations, free margin, cross-margin liquidation."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.exchange import margin as mg


def _check(**kw):
    base = dict(spot=False, side="buy", type_="limit", amount=1.0, price=100.0, trigger=None, ref=100.0,
                reduce_only=False, position=0.0, free_quote=1_000.0, free_base=0.0, leverage=10, taker_fee=0.0005,
                slippage=0.0002, min_amount=0.0, min_cost=5.0)
    return mg.check_order(**{**base, **kw})


def test_swap_order_holds_initial_margin_plus_the_taker_fee():
    v = _check(amount=2.0, price=100.0, leverage=10)
    assert v.refusal is None and v.currency == "quote"
    assert v.reserved == pytest.approx(200 / 10 + 200 * 0.0005)


def test_market_and_stop_orders_are_priced_slipped_up_from_the_last_price_and_the_trigger():
    m = _check(type_="market", price=None, ref=100.0)
    assert m.reserved == pytest.approx(100 * 1.0002 * (0.1 + 0.0005))
    s = _check(type_="stop_market", price=None, trigger=90.0)
    assert s.reserved == pytest.approx(90 * 1.0002 * (0.1 + 0.0005))


def test_spot_buys_hold_quote_and_sells_hold_base():
    buy = _check(spot=True, amount=0.5, price=100.0, leverage=1, free_quote=100.0)
    assert (buy.refusal, buy.currency, buy.reserved) == (None, "quote", pytest.approx(50 * 1.0005))
    sell = _check(spot=True, side="sell", amount=0.5, price=100.0, free_quote=0.0, free_base=0.5, position=0.5)
    assert (sell.refusal, sell.currency, sell.reserved) == (None, "base", 0.5)
    assert _check(spot=True, side="sell", amount=0.6, free_base=0.5, position=0.5).refusal == mg.INSUFFICIENT_FUNDS
    assert _check(spot=True, amount=1.0, price=100.0, leverage=1, free_quote=100.0).refusal == mg.INSUFFICIENT_FUNDS


def test_refusal_reasons_in_order():
    assert _check(amount=0.01, price=100.0).refusal == mg.BELOW_MINIMUM  # 1 USDT < 5
    assert _check(amount=0.5, min_amount=1.0).refusal == mg.BELOW_MINIMUM
    assert _check(side="sell", reduce_only=True).refusal == mg.INVALID_ORDER  # nothing to reduce
    assert _check(side="buy", reduce_only=True, position=1.0).refusal == mg.INVALID_ORDER  # would add
    assert _check(amount=200.0, free_quote=1_000.0).refusal == mg.INSUFFICIENT_FUNDS  # 2,000 + fee > 1,000
    assert _check(amount=99.0, free_quote=1_000.0).refusal is None


def test_reduce_only_holds_nothing_and_passes_even_under_water_and_a_whole_close_is_never_too_small():
    v = _check(side="sell", reduce_only=True, position=1.0, amount=1.0, free_quote=-50.0)
    assert v.refusal is None and v.reserved == 0
    dust = _check(side="sell", reduce_only=True, position=0.01, amount=0.01, price=100.0, free_quote=-1.0)
    assert dust.refusal is None  # 1 USDT < 5, but it closes the whole position
    part = _check(side="sell", reduce_only=True, position=0.02, amount=0.01, price=100.0)
    assert part.refusal == mg.BELOW_MINIMUM


def test_free_margin_is_equity_less_initial_margin_at_mark_less_what_orders_hold():
    p = mg.Position(amount=-2.0, entry=100.0, mark=110.0, leverage=5)
    assert mg.equity(1_000.0, [p]) == pytest.approx(1_000 - 20)
    assert mg.initial_margin([p]) == pytest.approx(2 * 110 / 5)
    assert mg.free_margin(1_000.0, [p], 30.0) == pytest.approx(980 - 44 - 30)
    assert mg.maintenance_margin([p], 0.005) == pytest.approx(2 * 110 * 0.005)


@pytest.mark.parametrize("amount", [30.0, -30.0])
def test_cross_liquidation_price_is_where_account_equity_meets_maintenance(amount):
    wallet, rate = 500.0, 0.005
    other = mg.Position(1.0, 50.0, 45.0, 10)  # another position, 5 under water, held at its mark
    pos = mg.Position(amount, 100.0, 100.0, 10)
    liq = mg.liquidation_price(wallet, pos, [other], rate)
    at = mg.Position(amount, 100.0, liq, 10)
    assert mg.equity(wallet, [at, other]) == pytest.approx(mg.maintenance_margin([at, other], rate))
    assert (liq < 100) == (amount > 0)


def test_no_liquidation_price_for_a_long_the_wallet_covers_nor_when_flat():
    assert mg.liquidation_price(1_000.0, mg.Position(1.0, 100.0, 100.0, 1), [], 0.005) is None
    assert mg.liquidation_price(1_000.0, mg.Position(0.0, 0.0, 0.0, 1), [], 0.005) is None


def test_liquidation_fill_at_the_level_or_at_a_gapped_open():
    assert mg.liquidation_fill(1.0, 90.0, 95.0, 96.0, 89.0) == 90.0
    assert mg.liquidation_fill(1.0, 90.0, 88.0, 89.0, 80.0) == 88.0  # opened below it
    assert mg.liquidation_fill(1.0, 90.0, 95.0, 96.0, 90.5) is None
    assert mg.liquidation_fill(-1.0, 110.0, 105.0, 111.0, 104.0) == 110.0
    assert mg.liquidation_fill(-1.0, 110.0, 112.0, 115.0, 111.0) == 112.0
    assert mg.liquidation_fill(-1.0, None, 112.0, 115.0, 111.0) is None
    assert mg.after_liquidation(-3.0) == 0 and mg.after_liquidation(7.0) == 7.0


def test_works_on_decimals_as_on_floats():
    kw = dict(spot=False, side="buy", type_="market", amount=D("0.02"), price=None, trigger=None, ref=D(60000),
              reduce_only=False, position=D(0), free_quote=D(1000), free_base=D(0), leverage=10,
              taker_fee=D("0.0005"), slippage=D("0.0002"), min_amount=D("0.0001"), min_cost=D(5))
    v = mg.check_order(**kw)
    assert isinstance(v.reserved, D) and v.reserved == D("0.02") * D(60000) * D("1.0002") * (D("0.1") + D("0.0005"))
    liq = mg.liquidation_price(D(1000), mg.Position(D("0.02"), D(60000), D(60000), 10), [], D("0.005"))
    assert isinstance(liq, D) and D(1000) + D("0.02") * (liq - 60000) == pytest.approx(D("0.02") * liq * D("0.005"))
