"""Contracts <-> base currency: the one place where a contract market's amounts are converted.

Exchange implementations (the ccxt gateway, the paper exchange) speak the venue's units: contracts on contract
markets (`Market.amount_unit == "contract"`). `BaseUnits` wraps one and presents the same protocol with every
amount in the base currency, so the runtime, the strategies, the backtester, the database and the chat never see a
contract. The base-unit market keeps `contract_size`, so a person can still be told the contract count.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from engine.exchange.protocol import Exchange, Market, OrderInfo, OrderRequest, PositionInfo, Trade, TradesPage


def base_market(market: Market) -> Market:
    """The market with its lot and minimum amount in the base currency (a base-unit market is returned as is)."""
    if market.amount_unit != "contract":
        return market
    cs = market.contract_size
    return replace(market, amount_step=market.amount_step * cs,
                   min_amount=market.min_amount * cs if market.min_amount is not None else None, amount_unit="base")


def contracts(amount: Decimal, market: Market) -> Decimal:
    """Base currency -> contracts of a contract market (`market` in either unit)."""
    return amount / market.contract_size if market.contract_size != 1 else amount


def base(amount: Decimal, market: Market) -> Decimal:
    """Contracts of a contract market -> base currency."""
    return amount * market.contract_size if market.contract_size != 1 else amount


class BaseUnits:
    """An Exchange whose amounts are in base currency, over one that speaks contracts on contract markets."""

    def __init__(self, inner: Exchange):
        self.inner = inner
        self.exchange_id, self.market_type = inner.exchange_id, inner.market_type
        self.simulated = inner.simulated
        self._venue: dict[str, Market] = {}

    def __getattr__(self, name: str) -> Any:  # what is not about amounts (a paper account's equity, ...) passes through
        return getattr(self.inner, name)

    async def feed(self, symbol: str, candle: list[float] | tuple) -> list[Trade]:
        trades = await self.inner.feed(symbol, candle)
        m = await self._conv(symbol) if trades else None
        return [replace(t, amount=base(t.amount, m)) for t in trades] if m else trades

    async def _m(self, symbol: str) -> Market:
        m = self._venue.get(symbol)
        if m is None:
            m = self._venue[symbol] = await self.inner.market(symbol)
        return m

    async def _conv(self, symbol: str) -> Market | None:
        m = await self._m(symbol)
        return m if m.amount_unit == "contract" and m.contract_size != 1 else None

    async def load_markets(self) -> dict[str, Market]:
        markets = await self.inner.load_markets()
        self._venue.update(markets)
        return {s: base_market(m) for s, m in markets.items()}

    async def market(self, symbol: str) -> Market:
        return base_market(await self._m(symbol))

    async def fetch_balance(self):
        return await self.inner.fetch_balance()

    async def fetch_positions(self, symbols: list[str] | None = None) -> list[PositionInfo]:
        out = []
        for p in await self.inner.fetch_positions(symbols):
            m = await self._conv(p.symbol)
            out.append(replace(p, amount=base(p.amount, m)) if m else p)
        return out

    async def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        return await self.inner.fetch_ohlcv(symbol, timeframe, since=since, limit=limit)

    async def fetch_ticker(self, symbol: str):
        return await self.inner.fetch_ticker(symbol)

    async def create_order(self, request: OrderRequest) -> OrderInfo:
        m = await self._conv(request.symbol)
        if m is None:
            return await self.inner.create_order(request)
        return self._info(await self.inner.create_order(replace(request, amount=contracts(request.amount, m))), m)

    async def cancel_order(self, symbol, order_id=None, client_order_id=None) -> OrderInfo:
        info = await self.inner.cancel_order(symbol, order_id=order_id, client_order_id=client_order_id)
        return self._info(info, await self._conv(symbol))

    async def fetch_order(self, symbol, order_id=None, client_order_id=None) -> OrderInfo:
        info = await self.inner.fetch_order(symbol, order_id=order_id, client_order_id=client_order_id)
        return self._info(info, await self._conv(symbol))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderInfo]:
        return [self._info(o, await self._conv(o.symbol)) for o in await self.inner.fetch_open_orders(symbol)]

    async def fetch_my_trades(self, symbol: str, since: int | None = None, limit: int | None = None) -> TradesPage:
        page = await self.inner.fetch_my_trades(symbol, since=since, limit=limit)
        m = await self._conv(symbol)
        if m is None:
            return page
        trades: list[Trade] = [replace(t, amount=base(t.amount, m)) for t in page.trades]
        return TradesPage(trades, page.cursor)

    async def set_leverage(self, symbol, leverage, margin_mode=None) -> None:
        if margin_mode is None:
            return await self.inner.set_leverage(symbol, leverage)
        return await self.inner.set_leverage(symbol, leverage, margin_mode)

    async def check_key(self):
        return await self.inner.check_key()

    async def close(self) -> None:
        await self.inner.close()

    @staticmethod
    def _info(info: OrderInfo, m: Market | None) -> OrderInfo:
        if m is None:
            return info
        return replace(info, amount=base(info.amount, m), filled=base(info.filled, m))
