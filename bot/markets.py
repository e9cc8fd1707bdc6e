"""Reaching an account's exchange from the chat: markets for symbol validation, prices, balances, key checks."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from bot.engine_port import EnginePort, attached
from db.enums import MarketType
from db.models import ExchangeAccount
from db.vault import Vault
from engine.exchange.protocol import Exchange

log = logging.getLogger(__name__)

EXCHANGES: dict[str, tuple[MarketType, ...]] = {
    "okx": (MarketType.SPOT, MarketType.SWAP),
    "binance": (MarketType.SPOT, MarketType.SWAP),
    "bybit": (MarketType.SPOT, MarketType.SWAP),
    "bitget": (MarketType.SPOT, MarketType.SWAP),
    "upbit": (MarketType.SPOT,),
}
NEEDS_PASSPHRASE = frozenset({"okx", "bitget"})
PAPER = "paper"


class ExchangeReader:
    """Exchanges for the chat's views, which only read (markets, prices, candles, balances).

    A paper account's simulated balances live in the engine's exchange, and a live account with an attached bot has
    its gateway open in the engine anyway: both are read there. Any other live account gets a gateway opened for the
    read and closed right after it, so no decrypted key stays in memory because someone looked at a view."""

    def __init__(self, engine: EnginePort, vault: Vault, urls: str | dict | None = None):
        self.engine, self.vault, self.urls = engine, vault, urls

    @contextlib.asynccontextmanager
    async def reading(self, account: ExchangeAccount) -> AsyncIterator[Exchange]:
        if account.is_paper or attached(self.engine, account.id):
            yield await self.engine.exchange_for(account)
            return
        from engine.exchange.factory import make_exchange

        ex = make_exchange(account, self.vault, urls_override=self.urls)
        try:
            yield ex
        finally:
            await ex.close()



async def last_price(ex: Any, symbol: str) -> float | None:
    """The last traded price, or the last 1m candle's close; None when neither is available. A paper venue's own
    price of a symbol it holds nothing on can be older than the market's (it is stored with the venue's next change,
    and beside workers only the jobs of that market feed it): the newer of it and its data source's last candle."""
    ticker = None
    with contextlib.suppress(Exception):
        ticker = await ex.fetch_ticker(symbol)
    if ticker is not None and not getattr(ex, "simulated", False):
        return float(ticker.last)
    with contextlib.suppress(Exception):
        rows = await ex.fetch_ohlcv(symbol, "1m", limit=1)
        if rows and (ticker is None or int(rows[-1][0]) >= ticker.ts):
            return float(rows[-1][4])
    return float(ticker.last) if ticker is not None else None


def mask(value: str) -> str:
    """First and last 4 characters; short values are fully hidden."""
    return f"{value[:4]}…{value[-4:]}" if len(value) >= 12 else "…"


def normalise_symbol(text: str, market_type: MarketType) -> str:
    """Accept "btc", "BTC/USDT", "btcusdt", "BTC-USDT-SWAP" and return the unified ccxt form for the type."""
    t = text.strip().upper().replace("-SWAP", "").replace("-", "/").replace("_", "/")
    if ":" in t:
        return t
    if "/" not in t:
        for quote in ("USDT", "USDC", "KRW", "BTC"):
            if t.endswith(quote) and len(t) > len(quote):
                t = f"{t[: -len(quote)]}/{quote}"
                break
        else:
            t = f"{t}/USDT"
    if market_type is MarketType.SWAP:
        t = f"{t}:{t.split('/')[1]}"
    return t
