"""The paper venue's markets and rates: what a paper account trades and what it pays."""

from __future__ import annotations

from decimal import Decimal

from engine.exchange.protocol import Market, MarketType

D = Decimal
MAKER_FEE, TAKER_FEE, SLIPPAGE, MAINTENANCE = D("0.0002"), D("0.0005"), D("0.0002"), D("0.005")


def _m(symbol: str, mtype: MarketType, tick: str, lot: str, min_amount: str, min_cost: str, cs: str = "1") -> Market:
    base, rest = symbol.split("/")
    return Market(symbol, base, rest.split(":")[0], mtype, D(tick), D(lot), D(min_amount), D(min_cost), D(cs), 125,
                  maker_fee=MAKER_FEE, taker_fee=TAKER_FEE,
                  amount_unit="contract" if mtype == MarketType.SWAP else "base")


DEFAULT_MARKETS = {
    m.symbol: m
    for m in (
        _m("BTC/USDT", MarketType.SPOT, "0.01", "0.00001", "0.00001", "5"),
        _m("ETH/USDT", MarketType.SPOT, "0.01", "0.0001", "0.0001", "5"),
        _m("BTC/USDT:USDT", MarketType.SWAP, "0.1", "0.01", "0.01", "5", "0.01"),
        _m("ETH/USDT:USDT", MarketType.SWAP, "0.01", "0.01", "0.01", "5", "0.1"),
    )
}
