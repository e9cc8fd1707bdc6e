"""bot/numbers.py: prices to the tick, amounts to the lot with their unit, money to 2 decimals, percentages to 2."""

from decimal import Decimal

import pytest

from bot import numbers as n


@pytest.mark.parametrize(("value", "step", "shown"), [
    (61633.61, "0.1", "61,633.6"), (61640, "0.1", "61,640.0"), (Decimal("61633.74"), "0.5", "61,633.5"),
    (61633, "5", "61,635"), ("0.123456789123", None, "0.12345679"), (0.68, 0, "0.68"), (100, "1", "100"),
    (0.1 + 0.2, "0.01", "0.30"), (-0.00001, "0.01", "0.00"),
])
def test_price_is_rounded_to_the_tick(value, step, shown):
    assert n.price(value, step) == shown


def test_amounts_carry_the_lot_and_the_unit():
    assert n.amount(0.0007000000000000001, "0.0001", "BTC") == "0.0007 BTC"
    assert n.amount(2.8e-19, Decimal("0.0001"), "BTC") == "0.0000 BTC"
    assert n.amount(1.64, "1", "DOGE") == "2 DOGE"
    assert n.amount(1e-12, None, "BTC") == "0 BTC"  # the fallback trims, never prints 1e-12


def test_money_and_percent():
    assert n.money(0.24217204799999886, "USDT") == "0.24 USDT"
    assert n.money("0.0246559998136", "USDT") == "0.02 USDT"
    assert n.money(-12.025, "USDT") == "-12.03 USDT"
    assert n.money(-0.001) == "0.00"
    assert n.money(10000) == "10,000.00"
    assert n.pct(12.3456) == "12.35%"


@pytest.mark.parametrize("bad", [None, "nan", float("inf"), "abc", True])
def test_unparsable_values_show_a_question_mark(bad):
    assert n.price(bad, "0.1") == n.UNKNOWN
    assert n.money(bad, "USDT") == n.UNKNOWN


def test_market_numbers_from_a_payload_market():
    m = n.MarketNumbers.from_info({"base": "BTC", "quote": "USDT", "price_step": "0.1", "amount_step": "0.0001",
                                   "contract_size": "0.01"})
    assert (m.price(61633.649), m.amount("0.0008000001"), m.money("-0.1512")) == ("61,633.6", "0.0008 BTC",
                                                                                    "-0.15 USDT")
    assert m.max_decimals == 4
    assert n.MarketNumbers.from_info(None).amount(0.1 + 0.2) == "0.3"
    assert n.decimals_of("1E-8") == 8 and n.decimals_of("0") is None


def test_dust_is_less_than_half_a_lot():
    m = n.MarketNumbers(base="BTC", amount_step=Decimal("0.0001"))
    assert m.is_dust("2.8E-19") and m.is_dust(0.0000499) and m.is_dust(0)
    assert not m.is_dust(0.00005) and not m.is_dust(-0.0001) and not m.is_dust("nan")
    assert n.MarketNumbers().is_dust(4e-9) and not n.MarketNumbers().is_dust(1e-8)
