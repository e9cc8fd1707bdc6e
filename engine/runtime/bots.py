"""One running bot as the engine holds it: its settings, strategy state, exchange, market and order lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.enums import BotKind, BotStatus, PositionSide
from db.models import Position, StrategyBot
from engine.candles import timeframe_ms
from engine.exchange.protocol import Exchange, Market, MarketType
from engine.ledger import Book, book_fill
from engine.runtime.codec import grid_from_json, grid_to_json, hyperrsi_from_json, hyperrsi_to_json
from engine.runtime.orders import BotRef, OrderLifecycle
from engine.strategies.grid import GridSettings, GridState
from engine.strategies.hyperrsi import HyperRsiSettings, HyperRsiState

_tf_ms = lru_cache(maxsize=32)(timeframe_ms)


@dataclass(slots=True)
class BotHandle:
    """`meta` is the runtime's part of StrategyBot.state: trade cursor, last candle evaluated, start time."""

    id: int
    user_id: int
    account_id: int
    kind: BotKind
    symbol: str
    status: BotStatus
    settings: HyperRsiSettings | GridSettings
    strat: HyperRsiState | GridState | None
    meta: dict[str, Any]
    exchange: Exchange
    market: Market
    life: OrderLifecycle
    source: str  # the MarketData source key of its candles
    book: Book = field(default_factory=Book)  # the books of its fills: what the Position row and the chat show
    dirty: bool = True  # resting orders may differ from the strategy's wish: sync on the next supervision
    last_state: dict | None = field(default=None, repr=False)

    @property
    def timeframe(self) -> str:
        return self.settings.timeframe

    @property
    def tf_ms(self) -> int:
        return _tf_ms(self.settings.timeframe)

    @property
    def swap(self) -> bool:
        return self.market.type == MarketType.SWAP

    def state_json(self) -> dict:
        s = self.strat
        enc = None if s is None else hyperrsi_to_json(s) if isinstance(s, HyperRsiState) else grid_to_json(s)
        return {**self.meta, "strategy": enc}

    async def save(self, conn: BaseDBAsyncClient | None = None, *, status: BotStatus | None = None) -> None:
        data = self.state_json()
        if data == self.last_state and status is None:
            return
        values: dict[str, Any] = {"state": data}
        if status is not None:
            values["status"] = self.status = status
        await StrategyBot.filter(id=self.id).using_db(conn).update(**values)
        self.last_state = data

    async def reload(self) -> None:
        """The strategy state and the books as the database has them: after a fill's transaction rolled back, the
        in-memory ones are ahead of it (the fill is ingested again on the next poll)."""
        row = await StrategyBot.get(id=self.id)
        self.strat, self.meta = decode_state(self.kind, row.state)
        self.last_state = self.state_json() if row.state is not None else None
        self.book = _book(await Position.get(bot_id=self.id))
        self.dirty = True

    def fill(self, side: str, amount: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Books one fill of the bot's (engine/ledger.py); returns the PnL it realised, before its fee."""
        self.book, pnl = book_fill(self.book, side, amount, price, fee, self.market.amount_step)
        return pnl

    async def save_position(self, conn: BaseDBAsyncClient | None = None) -> None:
        """The Position row: the books (position, average, PnL, fees), and the strategy's stage and stops."""
        b = self.book
        values: dict[str, Any] = {"side": PositionSide(b.side), "size": abs(b.position),
                                  "average_entry": b.average if b.position else None, "realized_pnl": b.realized,
                                  "fees": b.fees}
        s = self.strat
        if isinstance(s, HyperRsiState):
            values.update(pyramid_count=s.pyramid_count, tp_stage=s.tp_stage,
                          trailing={"active": s.trailing, "best": s.best, "stop": s.stop, "reason": s.stop_reason})
        await Position.filter(bot_id=self.id).using_db(conn).update(**values)


def _book(pos: Position) -> Book:
    sign = -1 if pos.side == PositionSide.SHORT else 1
    return Book(sign * pos.size, pos.average_entry or Decimal(0), pos.realized_pnl, pos.fees)


def decode_settings(kind: BotKind, settings: dict) -> HyperRsiSettings | GridSettings:
    """The validated settings; bots with equal settings (presets, copies) share one instance, which is safe because
    the models are frozen and saves kilobytes per bot when thousands run."""
    return _decode_settings(kind, json.dumps(settings, sort_keys=True))


@lru_cache(maxsize=4096)
def _decode_settings(kind: BotKind, settings_json: str) -> HyperRsiSettings | GridSettings:
    model = HyperRsiSettings if kind == BotKind.HYPERRSI else GridSettings
    return model(**json.loads(settings_json))


def decode_state(kind: BotKind, state: dict | None) -> tuple[HyperRsiState | GridState | None, dict]:
    state = dict(state or {})
    raw = state.pop("strategy", None)
    strat = hyperrsi_from_json(raw) if kind == BotKind.HYPERRSI else grid_from_json(raw)
    return strat, state


async def make_handle(row: StrategyBot, exchange: Exchange, source: str, *,
                      unknown_grace_ms: int = 60_000, clock: Callable[[], int] | None = None) -> BotHandle:
    settings = decode_settings(row.kind, row.settings)
    strat, meta = decode_state(row.kind, row.state)
    market = await exchange.market(row.symbol)
    life = OrderLifecycle(exchange, BotRef(row.user_id, row.id, row.account_id, exchange.exchange_id, row.symbol),
                          unknown_grace_ms=unknown_grace_ms, market=market, clock=clock)
    pos, _ = await Position.get_or_create(bot_id=row.id, defaults={"symbol": row.symbol})
    h = BotHandle(row.id, row.user_id, row.account_id, row.kind, row.symbol, row.status, settings, strat, meta,
                  exchange, market, life, source, book=_book(pos))
    h.last_state = h.state_json() if row.state is not None else None
    return h
