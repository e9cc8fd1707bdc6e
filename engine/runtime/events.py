"""Notification kinds the runtime writes to the outbox, their payload keys, and helpers that write them.

Every payload holds plain JSON values (numbers as strings where they are money). Common keys: `bot_id`,
`symbol`, and `_market` (`market_info`: base and quote currency, tick, lot and contract size, for the notifier to
show numbers to the market's precision; hidden from the text). Every amount is in the base currency (BTC, not
contracts); money (pnl, realized_pnl, fee) is in the quote currency. `pnl` and `realized_pnl` are before fees:
the fee of each fill is its own field, so that balance change = realised PnL - fees.
The notifier renders unknown kinds generically.

- "fill" (engine/runtime/orders.py): one per execution of a grid order or anything without a more specific kind.
  Keys: bot_id, symbol, side, role, level, price, amount, fee, fee_currency, pnl; the runtime adds
  `kind_detail` ("grid_entry" / "grid_exit" / "close"), `position` (signed base units after the fill) and
  `realized_pnl` (the bot's total). Dedup: fill:<account>:<trade id>.
- "entry": a HYPERRSI entry or pyramid fill (replaces "fill" for that trade; same dedup key).
  Keys: the "fill" keys + position_side, size, average, pyramid_count.
- "take_profit": a HYPERRSI take-profit fill (same dedup key as its fill). Keys: the "fill" keys + stage,
  size (left), realized_pnl.
- "stop_loss": a HYPERRSI stop fill (stop-loss, break-even or trailing stop; same dedup key as its fill).
  Keys: the "fill" keys + stop_reason, size (left), realized_pnl.
- "trailing_moved": the protective stop of a HYPERRSI bot moved on a candle close. Keys: bot_id, symbol,
  stop (new price), previous (old price or null), reason ("trailing", "sl", "break_even_tp1"…), candle_ts.
  Dedup: trailing:<bot>:<candle ts>.
- "note": a strategy note that is not an order. Keys: bot_id, symbol, reason (e.g. "below_minimum",
  "blocked_strong_downtrend", "trailing_blocked_by_position", "late_entry_fill", "unexpected_fill",
  "position_closed_outside": the exchange holds none of the position the bots held, seen twice; the bot stops),
  details (dict of numbers), candle_ts. Dedup: note:<bot>:<candle ts>:<reason>[:<level>].
- "bot_error": something failed while running a bot; it keeps running and retries. Not written for transient
  exchange trouble (unavailable / unknown outcome), which is only retried. Keys: bot_id, symbol,
  error (a short reason key, never a secret), where ("candle", "supervise", "reconcile", "start").
  Dedup: bot_error:<bot>:<where>:<error>:<minute>.
- "grid_stopped": a GRID bot stopped itself at a bound. Keys: bot_id, symbol, reason ("grid_stop_loss" /
  "grid_take_profit"), position (signed, before the close), realized_pnl. Dedup: grid_stopped:<bot>:<start ms>.
- "bot_stopped": a bot was stopped by its user (or stop-all). Keys: bot_id, symbol, kind, close_position,
  cancelled (orders cancelled), closed (amount sent to close, "0" if kept), emergency (bool).
  Dedup: bot_stopped:<bot>:<start ms>.
- "recovery_summary": one per user after a start-up reconciliation that found anything. Keys: bots (count),
  fills (processed while down), closed_out (orders vanished), adopted (our own orphans adopted),
  resolved (unknown orders resolved), placed (missing resting orders re-placed). Dedup: recovery:<user>:<start ms>.
- "order_rejected" (engine/runtime/orders.py): bot_id, symbol, reason, role, side, amount, price, attempts
  (refusals of that order in a row), retry_in_s (its back-off before the next try). Said at the 1st, 10th, 100th
  and 1000th refusal in a row only. Dedup: rejected:<bot>:<role>:<level>:<first refusal ms>:<attempts>.
- "admin_alert": to every admin (User.role admin, synced from ADMIN_IDS at start-up): something failed. Keys: what
  ("bot_error", "handler_error"), error (a class or reason key), and what is known of where: bot_id, symbol,
  user (Telegram id), where, error_id (the id the user was shown). One per admin and distinct error per
  ALERT_WINDOW_MS: dedup admin_alert:<what>:<identity>:<window>:<admin>.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.enums import Role
from db.models import User
from engine.exchange.protocol import Market
from engine.runtime.outbox import dedup, notify

KINDS = ("fill", "entry", "take_profit", "stop_loss", "trailing_moved", "note", "bot_error", "grid_stopped",
         "bot_stopped", "recovery_summary", "order_rejected", "admin_alert")
ALERT_WINDOW_MS = 600_000  # an error that repeats reaches each admin once per 10 minutes


def plain(value: Any) -> Any:
    """JSON-safe numbers: NaN and infinities become null, tuples lists, nested dicts cleaned."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def market_info(m: Market) -> dict[str, str]:
    """The `_market` of a payload: what the notifier needs to show a market's numbers (amounts in base units)."""
    return {"base": m.base, "quote": m.quote, "price_step": str(m.price_step), "amount_step": str(m.amount_step),
            "contract_size": str(m.contract_size)}


async def note(h: Any, reason: str, details: dict, candle_ts: int, conn: BaseDBAsyncClient | None = None) -> None:
    """A strategy note of the bot `h` (a BotHandle)."""
    level = details.get("level")
    key = dedup("note", h.id, candle_ts, reason, *([] if level is None else [level]))
    await notify(h.user_id, "note", {"bot_id": h.id, "symbol": h.symbol, "reason": reason, "details": plain(details),
                                     "candle_ts": candle_ts, "_market": market_info(h.market)}, key, conn=conn)


async def bot_error(user_id: int, bot_id: int, symbol: str, error: str, where: str, now_ms: int) -> None:
    await notify(user_id, "bot_error", {"bot_id": bot_id, "symbol": symbol, "error": error[:120], "where": where},
                 dedup("bot_error", bot_id, where, error[:60], now_ms // 60_000))
    owner = await User.filter(id=user_id).values_list("telegram_id", flat=True)
    await alert_admins("bot_error", {"bot_id": bot_id, "symbol": symbol, "where": where, "error": error[:120],
                                     "user": owner[0] if owner else None}, (bot_id, where, error[:40]), now_ms)


async def alert_admins(what: str, payload: dict[str, Any], identity: tuple, now_ms: int) -> None:
    """One "admin_alert" per admin for this error (`identity`), at most once per ALERT_WINDOW_MS."""
    window = now_ms // ALERT_WINDOW_MS
    for admin in await User.filter(role=Role.ADMIN, active=True).values_list("id", flat=True):
        key = dedup("admin_alert", what, *(str(p)[:40] for p in identity), window, admin)
        await notify(admin, "admin_alert", {"what": what, **payload}, key)
