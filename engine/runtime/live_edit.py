"""A bot's settings changed while it runs: validated, refused for what needs a stop, swapped in under the bot's lock
(its resting orders re-synced once, on the next supervision or candle), and stored with the audit row in one
transaction. A bot that is not running has its settings stored as the editor of a stopped bot does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.enums import BotStatus, PositionSide
from db.models import Position, StrategyBot
from engine import settings_log
from engine.exchange.protocol import ExchangeError
from engine.runtime.bots import BotHandle, decode_settings
from engine.runtime.locks import SymbolLocks
from engine.runtime.registry import Registry, runner_for
from engine.strategies import live_settings

LIVE = (BotStatus.RUNNING, BotStatus.PAUSED)  # settings change live, by the live rules


class LiveEditRefused(Exception):
    """The change cannot be made now. `reason`: "needs_stop" (`fields`: the settings that wait for a stop) or
    "stopping" (the bot is closing its position: change it once it has stopped)."""

    def __init__(self, reason: str, fields: Iterable[str] = ()):
        self.reason, self.fields = reason, list(fields)
        super().__init__(f"{reason}: {', '.join(self.fields)}" if self.fields else reason)


def holds_nothing(h: BotHandle) -> bool:
    """No position in the books or the strategy, and no market order out (a pending entry already has a side)."""
    return not h.book.position and h.strategy.holds().side == "flat" and not getattr(h.strat, "pending", "")


async def _row_flat(bot_id: int) -> bool:
    pos = await Position.get_or_none(bot_id=bot_id)
    return pos is None or pos.side == PositionSide.FLAT or not pos.size


async def update_settings(registry: Registry, locks: SymbolLocks, row: StrategyBot, changes: Mapping[str, Any], *,
                          actor: int | None, action: str, extra: Mapping[str, Any]) -> dict[str, list]:
    """Merge `changes` into the bot's settings; returns the diff {setting: [old, new]} (empty: nothing changed).
    Running or paused: pydantic's ValidationError for settings that do not hold together, LiveEditRefused for what
    the bot cannot change now."""
    h = registry.handles.get(row.id)
    async with locks.hold(*((h.account_id, h.symbol) if h is not None else (row.account_id, row.symbol))):
        await row.refresh_from_db()
        after = {**(row.settings or {}), **changes}
        if row.status == BotStatus.STOPPING:
            raise LiveEditRefused("stopping")
        if row.status not in LIVE:
            return await settings_log.save(row, after, actor=actor, action=action, extra=extra)
        runner = runner_for(row.kind)
        new = decode_settings(runner.settings_model, after)  # pydantic's ValidationError
        # attached, or waiting for its exchange (its row is all there is); where workers run it, as they stored it
        h = registry.handles.get(row.id) if registry.runs_bots else await _attached(registry, row)
        try:
            old = h.settings if h is not None else decode_settings(runner.settings_model, row.settings)
            moved = live_settings.changed(old, new)
            flat = holds_nothing(h) if h is not None else await _row_flat(row.id)
            refused = live_settings.needs_stop(runner.kind.value, moved, flat=flat)
            if refused:
                raise LiveEditRefused("needs_stop", refused)
            extra = {**extra, "live": True}
            if h is None:
                return await settings_log.save(row, after, actor=actor, action=action, extra=extra)
            return await _swap(h, row, old, new, after, actor=actor, action=action, extra=extra)
        finally:
            if h is not None:
                await registry.release(h)


async def _attached(registry: Registry, row: StrategyBot) -> BotHandle | None:
    """The bot attached from its row as just read (None when its exchange cannot be reached now)."""
    try:
        return await registry.current(row)
    except ExchangeError:
        return None


async def _swap(h: BotHandle, row: StrategyBot, old: Any, new: Any, after: dict, *, actor: int | None, action: str,
                extra: Mapping[str, Any]) -> dict[str, list]:
    """The handle takes the new settings once they are stored; the strategy state follows them where the resting
    orders do not derive from the settings alone (a HYPERRSI stop, GRID take-profits)."""
    if getattr(new, "leverage", None) != getattr(old, "leverage", None):  # only while flat (live_settings)
        await h.exchange.set_leverage(h.symbol, new.leverage)
    state = live_settings.restate(h.kind.value, old, new, h.strat, getattr(h.strategy, "rules", None))
    data = {**h.rt.to_json(), "strategy": h.runner.encode(state)}
    holds = h.runner.holds(state)

    async def position(conn: BaseDBAsyncClient) -> None:
        if holds:
            await Position.filter(bot_id=h.id).using_db(conn).update(**holds)

    changes = await settings_log.save(row, after, actor=actor, action=action, extra=extra, state=data,
                                      also=position)
    if changes:
        h.settings, h.strategy, h.last_state = new, h.runner.make(new, h.market, state), data
        h.dirty = True
    return changes
