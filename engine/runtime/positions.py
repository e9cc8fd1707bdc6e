"""Swap positions checked against the exchange: one closed outside the bots (liquidation, by hand) stops them."""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from engine import ledger
from engine.runtime import events
from engine.runtime.bots import BotHandle

log = logging.getLogger(__name__)

CONFIRMATIONS = 2  # consecutive checks (reconciliations, minutes apart) that must see it: a late trade is no close


def held(h: BotHandle) -> float:
    """What the bot's fills say it holds, in base currency, signed (long > 0)."""
    return float(h.book.position)


async def vanished(hs: list[BotHandle], now_ms: int) -> list[BotHandle]:
    """Bots of one swap (account, symbol), caller holding its lock, after their fills are in: when the exchange has
    held no position on the symbol for CONFIRMATIONS checks in a row while the bots (net) hold one, each holding
    bot's books are set flat (PnL of the close unknown, so not booked) with a note of what it held; they are
    returned for the caller to stop. A position that is merely smaller or larger is left alone and not guessed at."""
    if not hs or not hs[0].swap:
        return []
    tol = max(float(hs[0].market.amount_step or 0) / 2, 1e-12)
    holding = [h for h in hs if abs(held(h)) > tol]
    if not holding or abs(sum(held(h) for h in hs)) <= tol:  # bots that net out may see a flat account
        for h in hs:
            h.rt.flat_seen = None
        return []
    positions = await hs[0].exchange.fetch_positions([hs[0].symbol])
    actual = sum(float(p.amount) * (1 if p.side.value == "buy" else -1) for p in positions
                 if p.symbol == hs[0].symbol)
    if abs(actual) > tol:
        for h in hs:
            h.rt.flat_seen = None
        return []
    seen = max(h.rt.flat_seen or 0 for h in holding) + 1
    for h in holding:
        h.rt.flat_seen = seen
    if seen < CONFIRMATIONS:
        return []
    for h in holding:
        amount = held(h)
        log.warning("bot %s: the exchange holds no %s position, the bot held %s", h.id, h.symbol, amount)
        h.book = ledger.flat(h.book)
        h.runner.position_gone(h, now_ms)
        h.rt.flat_seen = None
        async with in_transaction() as conn:
            await h.save(conn)
            await h.save_position(conn)
            await events.note(h, "position_closed_outside",
                              {"amount": amount}, now_ms, conn)
    return holding
