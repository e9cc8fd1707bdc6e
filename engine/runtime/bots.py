"""One running bot as the engine holds it (settings, strategy and runtime state, exchange, books), and the protocol of
the live runner that every strategy-specific step goes through."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from pydantic import BaseModel
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db.enums import BotKind, BotStatus, OrderRole, PositionSide
from db.models import Fill, Order, Position, StrategyBot
from db.ring_updates import write_states
from db.row_updates import update_rows
from engine.candles import Candles, timeframe_ms
from engine.exchange.protocol import Exchange, Market, MarketType
from engine.ledger import Book, book_fill
from engine.market.candle_cache import CandleCache
from engine.notices import FillNotice
from engine.runtime.orders import BotRef, OrderLifecycle
from engine.runtime.state import DECISIONS, RuntimeState
from engine.runtime.sync import SyncResult
from engine.strategies.runner import StrategyRunner

_tf_ms = lru_cache(maxsize=32)(timeframe_ms)
_DECISIONS: ContextVar[list[BotHandle] | None] = ContextVar("tb_batched_decisions", default=None)
DECISIONS_PER_STATEMENT = 500

# What a fill was, for its notice: the notice's model (fill, entry, take-profit…) and the fields the strategy adds.
FillTold = tuple[type[FillNotice], dict[str, Any]]


class LiveRunner(Protocol):
    """A strategy in live trading, one object per kind, chosen once when its bot is attached: it drives the bot's
    pure StrategyRunner (engine/strategies/runner.py, `BotHandle.strategy`) and does the I/O around it. Callers hold
    the bot's (account, symbol) lock; each method writes what it changed (state, rows, notices) itself."""

    kind: BotKind
    settings_model: type[BaseModel]
    resting_roles: tuple[OrderRole, ...]  # the roles of the orders `sync` keeps resting
    fresh_on_start: bool  # the strategy state starts afresh each time the user starts the bot

    def make(self, settings: Any, market: Market, state: Any) -> StrategyRunner: ...  # the bot's pure runner
    def decode(self, raw: dict | None) -> Any: ...  # the strategy state from its JSON in StrategyBot.state
    def encode(self, strat: Any) -> dict | None: ...
    def params_key(self, settings: Any) -> tuple: ...  # bots with equal keys share one indicator computation
    def inputs(self, settings: Any, candles: Candles) -> Any: ...  # the indicator series; `.at(-1)` is the last
    def holds(self, strat: Any) -> dict[str, Any]: ...  # the strategy's part of the Position row

    async def start(self, h: BotHandle, candles: CandleCache, now_ms: int) -> None: ...  # the user started it
    async def on_candle(self, h: BotHandle, c: Any, close: float, candle_ts: int, now_ms: int) -> None: ...
    async def on_fill(self, h: BotHandle, conn: BaseDBAsyncClient, order: Order, fill: Fill) -> FillTold: ...
    async def check_pending(self, h: BotHandle) -> None: ...  # a market order asked for that never went out
    def waiting(self, h: BotHandle) -> bool: ...  # a market order is out whose fill is not taken in yet
    async def sync(self, h: BotHandle) -> SyncResult: ...  # resting orders made equal to the wanted ones
    async def stop(self, h: BotHandle, close_position: bool) -> Decimal: ...  # what was sent to close
    def position_gone(self, h: BotHandle, now_ms: int) -> None: ...  # closed outside the bot


@dataclass(slots=True)
class BotHandle:
    id: int
    user_id: int
    account_id: int
    kind: BotKind
    symbol: str
    status: BotStatus
    settings: Any  # the runner's settings model (frozen)
    strategy: StrategyRunner  # the pure runner; its `.state` is the strategy's (None before a GRID is planned)
    rt: RuntimeState
    runner: LiveRunner
    exchange: Exchange
    market: Market
    life: OrderLifecycle
    source: str  # the CandleCache source key of its candles
    book: Book = field(default_factory=Book)  # the books of its fills: what the Position row and the chat show
    dirty: bool = True  # resting orders may differ from the strategy's wish: sync on the next supervision
    last_state: dict | None = field(default=None, repr=False)
    position_id: int = 0  # its Position row's id (0: not known, then written by bot id)
    # (strategy state, its encoding): strategy states are immutable (frozen), so one is encoded once
    encoded: tuple[Any, dict | None] | None = field(default=None, repr=False, compare=False)

    @property
    def strat(self) -> Any:
        return self.strategy.state

    @strat.setter
    def strat(self, state: Any) -> None:
        self.strategy.state = state

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
        strat, memo = self.strat, self.encoded
        if memo is None or memo[0] is not strat:
            memo = self.encoded = (strat, self.runner.encode(strat))
        return {**self.rt.to_json(), "strategy": memo[1]}

    async def save(self, conn: BaseDBAsyncClient | None = None, *, status: BotStatus | None = None) -> None:
        """The state as it is in memory, with the decisions recorded since the last save appended to the ring."""
        data = self.state_json()
        if data == self.last_state and status is None and not self.rt.unwritten():
            return
        rows = _ROWS.get()
        if rows is not None and status is None and conn is rows.conn:
            rows.states[self.id] = (self, data)
            return
        if status is None:
            await _write_states([(self, data)], conn)
            return
        async with in_transaction() if conn is None else nullcontext(conn) as tx:
            await StrategyBot.filter(id=self.id).using_db(tx).update(status=status)
            await _write_states([(self, data)], tx)
        self.status = status

    async def save_decision(self) -> None:
        """Only the candle's decision changed (for /why): written at once, or with the other bots of the market when
        a candle cycle batches them (`batched_decisions`) while it holds their locks."""
        batch = _DECISIONS.get()
        if batch is None:
            await self.save()
        else:
            batch.append(self)

    async def reload(self) -> None:
        """The strategy state and the books as the database has them: after a fill's transaction rolled back, the
        in-memory ones are ahead of it (the fill is ingested again on the next poll)."""
        row = await StrategyBot.get(id=self.id)
        self.strat, self.rt = self.runner.decode((row.state or {}).get("strategy")), RuntimeState.from_json(row.state)
        self.last_state = self.state_json() if row.state is not None else None
        self.book = book_of(await Position.get(bot_id=self.id))
        self.dirty = True

    async def resync(self) -> int:
        """Resting orders made equal to the strategy's wish (not while stopping); returns how many were placed."""
        if self.status == BotStatus.STOPPING:
            return 0
        return len((await self.runner.sync(self)).placed)

    def fill(self, side: str, amount: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Books one fill of the bot's (engine/ledger.py); returns the PnL it realised, before its fee."""
        self.book, pnl = book_fill(self.book, side, amount, price, fee, self.market.amount_step)
        return pnl

    async def save_position(self, conn: BaseDBAsyncClient | None = None) -> None:
        """The Position row: the books (position, average, PnL, fees), and the strategy's stage and stops."""
        b = self.book
        values: dict[str, Any] = {"side": PositionSide(b.side), "size": abs(b.position),
                                  "average_entry": b.average if b.position else None, "realized_pnl": b.realized,
                                  "fees": b.fees, **self.runner.holds(self.strat)}
        rows = _ROWS.get()
        if rows is not None and self.position_id and conn is rows.conn:
            rows.positions[self.id] = (self, values)
            return
        await Position.filter(bot_id=self.id).using_db(conn).update(**values)


def book_of(pos: Position) -> Book:
    """The books a Position row holds."""
    sign = -1 if pos.side == PositionSide.SHORT else 1
    return Book(sign * pos.size, pos.average_entry or Decimal(0), pos.realized_pnl, pos.fees)


def decode_settings(model: type[BaseModel], settings: dict) -> Any:
    """The validated settings; bots with equal settings (presets, copies) share one instance, which is safe because
    the models are frozen and saves kilobytes per bot when thousands run."""
    return _decode_settings(model, json.dumps(settings, sort_keys=True))


@lru_cache(maxsize=4096)
def _decode_settings(model: type[BaseModel], settings_json: str) -> Any:
    return model(**json.loads(settings_json))


async def make_handle(row: StrategyBot, exchange: Exchange, source: str, runner: LiveRunner, *,
                      unknown_grace_ms: int = 60_000, clock: Callable[[], int] | None = None,
                      position: Position | None = None) -> BotHandle:
    settings = decode_settings(runner.settings_model, row.settings)
    market = await exchange.market(row.symbol)
    life = OrderLifecycle(exchange, BotRef(row.user_id, row.id, row.account_id, exchange.exchange_id, row.symbol),
                          unknown_grace_ms=unknown_grace_ms, market=market, clock=clock)
    pos = position or (await Position.get_or_create(bot_id=row.id, defaults={"symbol": row.symbol}))[0]
    strategy = runner.make(settings, market, runner.decode((row.state or {}).get("strategy")))
    h = BotHandle(row.id, row.user_id, row.account_id, row.kind, row.symbol, row.status, settings, strategy,
                  RuntimeState.from_json(row.state), runner, exchange, market, life, source, book=book_of(pos),
                  position_id=pos.id)
    h.last_state = h.state_json() if row.state is not None else None
    return h


@asynccontextmanager
async def batched_decisions() -> AsyncIterator[None]:
    """`save_decision` inside (this task and the ones it starts) collects its bots, and their states are written on
    the way out in one statement per `DECISIONS_PER_STATEMENT` bots: a close where 10,000 bots stay flat costs a few
    statements, not 10,000. The caller holds the bots' locks until then. A state written meanwhile by another step
    is not written again; one that cannot be written now is written at the bot's next save."""
    batch: list[BotHandle] = []
    token = _DECISIONS.set(batch)
    try:
        yield
    finally:
        _DECISIONS.reset(token)
    todo: dict[int, tuple[BotHandle, dict]] = {}
    for h in batch:
        data = h.state_json()
        if data != h.last_state or h.rt.unwritten():
            todo[h.id] = (h, data)
    items = list(todo.values())
    for i in range(0, len(items), DECISIONS_PER_STATEMENT):
        await _write_states(items[i:i + DECISIONS_PER_STATEMENT])


async def _write_states(items: list[tuple[BotHandle, dict]], conn: BaseDBAsyncClient | None = None) -> None:
    """The bots' states `data` written in one statement, each with the decisions it recorded since its last write;
    then what memory holds is what is stored."""
    news = [h.rt.unwritten() or (None, None) for h, _ in items]
    await write_states([(h.id, data, *new) for (h, data), new in zip(items, news, strict=True)], DECISIONS, conn)
    for (h, data), new in zip(items, news, strict=True):
        h.last_state = data
        h.rt.written(*new)


@dataclass(slots=True)
class _Rows:
    conn: BaseDBAsyncClient
    states: dict[int, tuple[BotHandle, dict]] = field(default_factory=dict)
    positions: dict[int, tuple[BotHandle, dict[str, Any]]] = field(default_factory=dict)


_ROWS: ContextVar[_Rows | None] = ContextVar("tb_rows_together", default=None)


@asynccontextmanager
async def rows_together(conn: BaseDBAsyncClient) -> AsyncIterator[None]:
    """Inside (this task, in the transaction `conn`), the bots' `save(conn)` of a state and `save_position(conn)`
    collect, and are written on the way out, still in `conn`: the states in one statement and the positions in one
    per set of columns, where each bot took one of each (the market orders of one close, engine/runtime/
    asked_orders.py). A body that raised writes nothing (its transaction rolls back)."""
    rows = _Rows(conn)
    token = _ROWS.set(rows)
    try:
        yield
    finally:
        _ROWS.reset(token)
    states = list(rows.states.values())
    for i in range(0, len(states), DECISIONS_PER_STATEMENT):
        await _write_states(states[i:i + DECISIONS_PER_STATEMENT], conn)
    by_columns: dict[tuple[str, ...], list[tuple[int, list]]] = {}
    for h, values in rows.positions.values():
        by_columns.setdefault(tuple(values), []).append((h.position_id, list(values.values())))
    for columns, positions in by_columns.items():
        for i in range(0, len(positions), DECISIONS_PER_STATEMENT):
            await update_rows(Position, columns, positions[i:i + DECISIONS_PER_STATEMENT], conn)
