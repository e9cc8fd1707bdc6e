"""A bot's market precision for chat views: the running bot's own market, else the account's markets as loaded.

No view makes a network request for this that it would not make anyway: a running bot's handle holds its market;
otherwise the account's exchange, as the chat reads it (bot/markets.ExchangeReader), answers from the markets
loaded (the ccxt gateway keeps them process-wide for hours, the paper exchange holds them). Money needs only the
quote currency, which the symbol names.
"""

from __future__ import annotations

import asyncio
import logging

from bot.markets import ExchangeReader
from bot.numbers import MarketNumbers
from db.models import ExchangeAccount
from engine.exchange.units import base_market

log = logging.getLogger(__name__)

TIMEOUT = 5.0


def from_symbol(symbol: str) -> MarketNumbers:
    """Currencies only ("BTC/USDT:USDT" -> BTC, USDT); prices and amounts fall back to bounded decimals."""
    base, _, rest = symbol.partition("/")
    quote = rest.split(":")[0]
    return MarketNumbers(base=base or None, quote=quote or None)


async def for_bot(account: ExchangeAccount | None, symbol: str, exchanges: ExchangeReader | None,
                  bot_id: int | None = None) -> MarketNumbers:
    """The market's tick, lot (base units) and currencies; `from_symbol` when the market cannot be read."""
    if exchanges is None:
        return from_symbol(symbol)
    handle = exchanges.engine.handles.get(bot_id) if bot_id is not None else None
    if handle is not None and handle.symbol == symbol:
        return MarketNumbers.from_market(base_market(handle.market))
    if account is None:
        return from_symbol(symbol)
    try:
        async with exchanges.reading(account) as ex:
            m = await asyncio.wait_for(ex.market(symbol), TIMEOUT)
    except Exception as e:  # the view still shows everything, to bounded decimals
        log.info("no market rules for %s: %s", symbol, type(e).__name__)
        return from_symbol(symbol)
    return MarketNumbers.from_market(base_market(m))
