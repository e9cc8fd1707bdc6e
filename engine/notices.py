"""The notifications the engine writes to the outbox: one pydantic model per kind, with its payload and dedup key.

A notice is built once, where its event happens, and written with `engine.runtime.outbox`; `bot/` reads the payload
back through the same model (`parse`) and has one formatter per kind. Payloads are plain JSON: money and amounts
as decimal strings, every amount in the base currency (BTC, not contracts), money (pnl, realized_pnl, fee, fees) in
the quote currency. `pnl` and `realized_pnl` are before fees; each fill's fee is its own field, so that a balance
changes by realised PnL - fees. `_market` (MarketInfo) lets the notifier show numbers to the market's precision; it
is never shown itself. Fields marked `exclude` identify the event for its dedup key and are not in the payload
(a notice read back from the outbox has them unset).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ALERT_WINDOW_MS = 600_000  # an error that repeats reaches each admin once per 10 minutes
_DEDUP_MAX = 191


def dedup(kind: str, *identity: object) -> str:
    """The dedup key of an event: its kind and what identifies it, e.g. dedup("fill", account_id, trade_id)."""
    key = ":".join([kind, *(str(p) for p in identity)])
    if len(key) > _DEDUP_MAX:
        raise ValueError("dedup key too long")
    return key


def plain(value: Any) -> Any:
    """JSON-safe numbers: NaN and infinities become null, tuples lists, nested dicts cleaned."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class MarketInfo(BaseModel):
    """What the notifier needs to show a market's numbers (amounts in base units)."""

    model_config = ConfigDict(frozen=True)

    base: str
    quote: str
    price_step: str
    amount_step: str
    contract_size: str

    @classmethod
    def of(cls, m: Any) -> MarketInfo:
        """From an engine.exchange.protocol.Market."""
        return cls(base=m.base, quote=m.quote, price_step=str(m.price_step), amount_step=str(m.amount_step),
                   contract_size=str(m.contract_size))


class Notice(BaseModel):
    """One notification; subclasses set `kind` and `dedup_key()`."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")
    kind: ClassVar[str]
    urgent: ClassVar[bool] = False  # about the user's money: delivered before anything else that waits

    def payload(self) -> dict[str, Any]:
        """The outbox row's payload: the fields given when it was built, in JSON types."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def dedup_key(self) -> str:
        raise NotImplementedError


class BotNotice(Notice):
    bot_id: int
    symbol: str


class FillNotice(BotNotice):
    """"fill": one execution of a grid order or anything without a more specific kind.
    `kind_detail` ("grid_entry" / "grid_exit" / "close"), `position` (signed, after the fill), `realized_pnl`
    and `fees` (the bot's totals). Dedup: fill:<account>:<trade id>; the specific kinds below share it."""

    kind: ClassVar[str] = "fill"
    urgent: ClassVar[bool] = True
    account_id: int | None = Field(default=None, exclude=True)
    trade_id: str | None = Field(default=None, exclude=True)
    side: str
    role: str
    level: int | None = None
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str | None = None
    pnl: Decimal
    market: MarketInfo | None = Field(default=None, alias="_market")
    kind_detail: str | None = None
    position_side: str | None = None
    size: Decimal | None = None  # the strategy's position after the fill (HYPERRSI)
    average: Decimal | None = None
    pyramid_count: int | None = None
    stage: int | None = None
    stop_reason: str | None = None
    position: Decimal | None = None
    realized_pnl: Decimal | None = None
    fees: Decimal | None = None

    def dedup_key(self) -> str:
        return dedup("fill", self.account_id, self.trade_id)


class EntryNotice(FillNotice):
    """"entry": a HYPERRSI entry or pyramid fill (position_side, average, pyramid_count)."""

    kind: ClassVar[str] = "entry"


class TakeProfitNotice(FillNotice):
    """"take_profit": a HYPERRSI take-profit fill (stage)."""

    kind: ClassVar[str] = "take_profit"


class StopLossNotice(FillNotice):
    """"stop_loss": a HYPERRSI stop fill: stop-loss, break-even or trailing stop (stop_reason)."""

    kind: ClassVar[str] = "stop_loss"


FILL_KINDS: dict[str, type[FillNotice]] = {c.kind: c for c in (FillNotice, EntryNotice, TakeProfitNotice,
                                                                 StopLossNotice)}


class TrailingMoved(BotNotice):
    """"trailing_moved": the protective stop of a HYPERRSI bot moved on a candle close.
    `reason`: "trailing", "sl", "break_even_tp1"…. Dedup: trailing:<bot>:<candle ts>."""

    kind: ClassVar[str] = "trailing_moved"
    stop: float
    previous: float | None = None
    reason: str | None = None
    candle_ts: int
    market: MarketInfo | None = Field(default=None, alias="_market")

    def dedup_key(self) -> str:
        return dedup("trailing", self.bot_id, self.candle_ts)


class Note(BotNotice):
    """"note": a strategy note that is not an order, e.g. "below_minimum", "blocked_strong_downtrend",
    "trailing_blocked_by_position", "late_entry_fill", "unexpected_fill", "position_closed_outside" (the exchange
    holds none of the position the bots held, seen twice; the bot stops). `details`: numbers and codes.
    Dedup: note:<bot>:<candle ts>:<reason>[:<level>]."""

    kind: ClassVar[str] = "note"
    reason: str
    details: dict[str, Any]
    candle_ts: int
    market: MarketInfo | None = Field(default=None, alias="_market")

    @field_validator("details")
    @classmethod
    def _plain(cls, v: dict[str, Any]) -> dict[str, Any]:
        return plain(v)

    def dedup_key(self) -> str:
        level = self.details.get("level")
        return dedup("note", self.bot_id, self.candle_ts, self.reason, *([] if level is None else [level]))


class BotError(BotNotice):
    """"bot_error": something failed while running a bot; it keeps running and retries. Not written for transient
    exchange trouble, which is only retried. `error` is a short reason key, never a secret; `where`: "candle",
    "supervise", "reconcile", "start". Dedup: bot_error:<bot>:<where>:<error>:<minute>."""

    kind: ClassVar[str] = "bot_error"
    error: str
    where: str
    now_ms: int | None = Field(default=None, exclude=True)

    @field_validator("error")
    @classmethod
    def _short(cls, v: str) -> str:
        return v[:120]

    def dedup_key(self) -> str:
        return dedup("bot_error", self.bot_id, self.where, self.error[:60], self.now_ms // 60_000)


class GridStopped(BotNotice):
    """"grid_stopped": a GRID bot stopped itself at a bound ("grid_stop_loss" / "grid_take_profit"); `position` is
    signed, before the close. Dedup: grid_stopped:<bot>:<start ms>."""

    kind: ClassVar[str] = "grid_stopped"
    urgent: ClassVar[bool] = True
    reason: str
    position: Decimal
    realized_pnl: Decimal
    fees: Decimal
    market: MarketInfo | None = Field(default=None, alias="_market")
    started_ms: int | None = Field(default=None, exclude=True)

    def dedup_key(self) -> str:
        return dedup("grid_stopped", self.bot_id, self.started_ms)


class BotStopped(BotNotice):
    """"bot_stopped": stopped by its user (or stop-all, `emergency`): orders `cancelled`, amount `closed` ("0" if the
    position was kept). Written once the bot is STOPPED, so after its closing fill's notice; with the summary of the
    run since its start: `held_for` (seconds), `trades` (fills), `run_pnl` (their realised PnL, before fees),
    `fees` (in the quote currency), `close_price` (average of the closing fills). `_card` is the chat's card
    [chat id, message id] that asked for the stop, refreshed by the notifier once this is sent.
    Dedup: bot_stopped:<bot>:<start ms>."""

    kind: ClassVar[str] = "bot_stopped"
    urgent: ClassVar[bool] = True
    kind_of_bot: str = Field(alias="kind")
    close_position: bool
    cancelled: int
    closed: Decimal
    emergency: bool
    held_for: int | None = None
    trades: int | None = None
    run_pnl: Decimal | None = None
    fees: Decimal | None = None
    close_price: Decimal | None = None
    market: MarketInfo | None = Field(default=None, alias="_market")
    card: list[int] | None = Field(default=None, alias="_card")
    started_ms: int | None = Field(default=None, exclude=True)

    def dedup_key(self) -> str:
        return dedup("bot_stopped", self.bot_id, self.started_ms)


class RecoverySummary(Notice):
    """"recovery_summary": one per user after a start-up reconciliation that found anything: bots, fills (processed
    while down), closed_out (orders vanished), adopted (our own orphans), resolved (unknown orders), placed
    (missing resting orders re-placed). Dedup: recovery:<user>:<start ms>."""

    kind: ClassVar[str] = "recovery_summary"
    bots: int
    fills: int
    closed_out: int
    adopted: int
    resolved: int
    placed: int
    user_id: int | None = Field(default=None, exclude=True)
    started_ms: int | None = Field(default=None, exclude=True)

    def dedup_key(self) -> str:
        return dedup("recovery", self.user_id, self.started_ms)


class OrderRejected(BotNotice):
    """"order_rejected": the exchange refused an order; said at the 1st, 10th, 100th and 1000th refusal in a row
    (`attempts`), with the back-off before the next try (`retry_in_s`).
    Dedup: rejected:<bot>:<role>:<level>:<first refusal ms>:<attempts>."""

    kind: ClassVar[str] = "order_rejected"
    reason: str
    role: str
    side: str
    amount: Decimal
    price: Decimal | None = None
    attempts: int
    retry_in_s: int
    market: MarketInfo | None = Field(default=None, alias="_market")
    level: int | None = Field(default=None, exclude=True)
    since_ms: int | None = Field(default=None, exclude=True)

    def dedup_key(self) -> str:
        return dedup("rejected", self.bot_id, self.role, self.level, self.since_ms, self.attempts)


class AdminAlert(Notice):
    """"admin_alert": to one admin: something failed (`what`: "bot_error", "handler_error"), with what is known of
    where: bot_id, symbol, user (Telegram id), where, error_id (the id the user was shown). One per admin and
    distinct error per ALERT_WINDOW_MS: dedup admin_alert:<what>:<identity>:<window>:<admin>."""

    kind: ClassVar[str] = "admin_alert"
    what: str
    error: str | None = None
    error_id: str | None = None
    bot_id: int | None = None
    symbol: str | None = None
    where: str | None = None
    user: int | None = None
    identity: tuple[str, ...] = Field(default=(), exclude=True)
    now_ms: int | None = Field(default=None, exclude=True)
    admin_id: int | None = Field(default=None, exclude=True)

    def dedup_key(self) -> str:
        return dedup("admin_alert", self.what, *(p[:40] for p in self.identity), self.now_ms // ALERT_WINDOW_MS,
                     self.admin_id)


class DayOfBot(BaseModel):
    """One bot's day in a DailySummary: its fills (buys, sells; `bought`/`sold` in base units), their realised PnL
    (before fees) and fees paid in the quote currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    bot_id: int
    symbol: str
    fills: int
    buys: int
    sells: int
    bought: Decimal
    sold: Decimal
    realized_pnl: Decimal
    fees: Decimal


class DailySummary(Notice):
    """"daily_summary": to a user of the "daily" notification level, after each UTC `day` ("2026-12-04"): each of
    their bots that traded or runs, with its day. Dedup: daily:<user>:<day>."""

    kind: ClassVar[str] = "daily_summary"
    day: str
    bots: list[DayOfBot]
    user_id: int | None = Field(default=None, exclude=True)

    def dedup_key(self) -> str:
        return dedup("daily", self.user_id, self.day)


KINDS: dict[str, type[Notice]] = {c.kind: c for c in (
    FillNotice, EntryNotice, TakeProfitNotice, StopLossNotice, TrailingMoved, Note, BotError, GridStopped,
    BotStopped, RecoverySummary, OrderRejected, AdminAlert, DailySummary)}
URGENT = tuple(k for k, c in KINDS.items() if c.urgent)


def parse(kind: str, payload: dict[str, Any]) -> Notice | None:
    """The notice of an outbox row (the excluded identity fields left out), or None for an unknown kind or a payload
    its model refuses (rows written by an older version)."""
    model = KINDS.get(kind)
    if model is None:
        return None
    try:
        return model.model_validate(payload)
    except ValidationError:
        return None
