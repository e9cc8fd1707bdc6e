"""One account's balances, positions and leverage settings over ccxt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.exchange.ccxt_convert import dec
from engine.exchange.protocol import Balance, ExchangeError, InvalidOrder, MarginMode, MarketType, PositionInfo, Side

if TYPE_CHECKING:
    from engine.exchange.ccxt_gateway import CcxtGateway

D = Decimal
_NO_CHANGE = ("no need to change", "not modified", "already")


async def fetch_balance(gw: CcxtGateway) -> dict[str, Balance]:
    raw = await gw._call("fetch_balance", gw._ex.fetch_balance, private=True)
    out = {}
    for cur, total in (raw.get("total") or {}).items():
        if total is None:
            continue
        free = dec((raw.get("free") or {}).get(cur)) or D(0)
        used = dec((raw.get("used") or {}).get(cur)) or D(0)
        out[cur] = Balance(cur, free, used, D(str(total)))
    return out


async def fetch_positions(gw: CcxtGateway, symbols: list[str] | None) -> list[PositionInfo]:
    if gw.market_type != MarketType.SWAP:
        return []
    await gw.load_markets()
    raw = await gw._call("fetch_positions", lambda: gw._ex.fetch_positions(symbols), private=True)
    out = []
    for p in raw:
        contracts = dec(p.get("contracts")) or D(0)
        if not contracts:
            continue
        side = Side.SELL if p.get("side") == "short" else Side.BUY
        mode = p.get("marginMode")
        out.append(PositionInfo(p["symbol"], side, abs(contracts), dec(p.get("entryPrice")) or D(0),
                                dec(p.get("markPrice")), int(p["leverage"]) if p.get("leverage") else None,
                                dec(p.get("liquidationPrice")), dec(p.get("unrealizedPnl")),
                                MarginMode(mode) if mode in ("cross", "isolated") else None))
    return out


async def set_leverage(gw: CcxtGateway, symbol: str, leverage: int, margin_mode: MarginMode) -> None:
    """One-way position mode, then the margin mode and leverage, all explicit."""
    if gw.market_type != MarketType.SWAP:
        raise InvalidOrder(f"{gw.exchange_id}: spot markets have no leverage")
    m = await gw.market(symbol)
    if leverage < 1 or (m.max_leverage and leverage > m.max_leverage):
        raise InvalidOrder(f"{gw.exchange_id}: leverage {leverage} outside 1..{m.max_leverage} for {symbol}")
    mode = MarginMode(margin_mode).value
    ex = gw._ex
    if not gw._one_way_done:
        await _idempotent(gw, "set_position_mode", lambda: ex.set_position_mode(False, symbol))
        gw._one_way_done = True
    if gw.exchange_id == "okx":  # OKX sets both in one call
        await _idempotent(gw, "set_leverage", lambda: ex.set_leverage(leverage, symbol, {"mgnMode": mode}))
        gw._modes[symbol] = mode
        return
    # leverage first: a refused leverage leaves the margin mode as it was
    await _idempotent(gw, "set_leverage", lambda: ex.set_leverage(leverage, symbol, {"marginMode": mode}))
    await _idempotent(gw, "set_margin_mode", lambda: ex.set_margin_mode(mode, symbol, {"leverage": leverage}))
    gw._modes[symbol] = mode


async def _idempotent(gw: CcxtGateway, what: str, fn: Callable[[], Awaitable[Any]]) -> None:
    """A settings call where "already set that way" is success."""
    try:
        await gw._call(what, fn, private=True)
    except ExchangeError as e:
        if not any(h in str(e).lower() for h in _NO_CHANGE):
            raise
