"""The GRID preview before Start: levels, size per level in base currency (and contracts on a contract market),
profit per grid to the strategy's own take-profit with the market's maker fee, capital and loss at the stop."""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import numbers as nb
from bot.bot_card import bot_title
from bot.callbacks import BotCb
from bot.keyboards import Keyboard
from bot.markets import ExchangeReader, last_price
from bot.services import accounts
from bot.services.bots import StrategyBot
from bot.settings_editor import problems
from db.enums import BotKind

if TYPE_CHECKING:
    from engine.exchange.protocol import Exchange
    from engine.strategies.grid_settings import GridSettings

log = logging.getLogger(__name__)


async def preview_view(b: StrategyBot, exchanges: ExchangeReader) -> tuple[str, InlineKeyboardMarkup]:
    from engine.exchange.units import base_market, contracts
    from engine.market.rules import market_rules
    from engine.strategies.grid_ladder import PlanRefused, preview
    from engine.strategies.grid_settings import GridSettings

    kb = Keyboard()
    kb.button(text=_("card.settings"), callback_data=BotCb(action="settings", bot_id=b.id))
    kb.button(text=_("common.back"), callback_data=BotCb(action="card", bot_id=b.id))
    issues = problems(BotKind.GRID, b.settings)
    if issues:
        return "\n".join([_("preview.invalid"), *[f"⚠️ {p}" for p in issues]]), kb.adjust(2).as_markup()
    s = GridSettings(**b.settings)
    account = await accounts.by_id(b.account_id)  # type: ignore[attr-defined]
    async with exchanges.reading(account) as ex:
        venue = await ex.market(b.symbol)
        price = await last_price(ex, b.symbol)
        atr = await _atr(ex, b, s) if s.mode == "adaptive" else math.nan
    m = base_market(venue)  # amounts in the base currency, whichever unit the exchange speaks
    rules = market_rules(m)
    mn = nb.MarketNumbers.from_market(m)
    if s.mode == "adaptive" and (price is None or not math.isfinite(atr)):
        return _("preview.no_market_data"), kb.adjust(2).as_markup()
    if price is None:
        price = (s.lower_price + s.upper_price) / 2
    try:
        p = preview(s, rules, price, atr, maker_fee=float(m.maker_fee) if m.maker_fee is not None else None)
    except PlanRefused as e:
        detail = ", ".join(f"{k}={nb.plain(v)}" for k, v in e.details.items())
        return _("preview.refused").format(reason=_(f"refused.{e.reason}"), detail=detail), kb.adjust(2).as_markup()
    low, high = min(p.amounts), max(p.amounts)
    size = {"low": mn.amount(low, unit=False), "high": mn.amount(high)}
    if m.contract_size != 1:  # a contract market: the count of contracts too, to the venue's contract lot
        lot = contracts(m.amount_step, m)
        size |= {"clow": nb.amount(contracts(Decimal(str(low)), m), lot),
                 "chigh": nb.amount(contracts(Decimal(str(high)), m), lot)}
        size_line = _("preview.size_contracts").format(**size)
    else:
        size_line = _("preview.size").format(**size)
    quote = m.quote
    lines = [
        _("preview.title").format(title=bot_title(b)),
        _("preview.levels").format(n=len(p.levels), low=mn.price(min(p.levels)), high=mn.price(max(p.levels))),
        size_line,
        _("preview.profit").format(fee=nb.pct(p.fee_rate * 100), low=nb.pct(p.profit_per_grid_pct[0]),
                                   high=nb.pct(p.profit_per_grid_pct[1]),
                                   qlow=mn.money(p.profit_per_grid_quote[0], unit=False),
                                   qhigh=mn.money(p.profit_per_grid_quote[1])),
        _("preview.capital").format(amount=mn.money(p.capital_needed, unit=False), quote=quote),
        _("preview.price").format(price=mn.price(price), quote=quote),
    ]
    if p.loss_at_stop is not None:
        lines.append(_("preview.loss_at_stop").format(amount=mn.money(p.loss_at_stop, unit=False), quote=quote))
    start = Keyboard()
    start.button(text=_("card.start"), callback_data=BotCb(action="start", bot_id=b.id))
    start.attach(kb)
    return "\n".join(lines), start.adjust(1, 2).as_markup()


async def _atr(ex: Exchange, b: StrategyBot, s: GridSettings) -> float:
    """The last ATR of the bot's timeframe, for an adaptive grid's spacing; NaN without candles."""
    import numpy as np

    from engine.indicators import atr as atr_series

    try:
        rows = await ex.fetch_ohlcv(b.symbol, s.timeframe, limit=s.atr_length * 4)
        arr = np.asarray(rows, dtype=float)
        return float(atr_series(arr[:, 2], arr[:, 3], arr[:, 4], s.atr_length)[-1])
    except Exception as e:  # no candles: the preview says so
        log.info("no candles for the preview of bot %s: %s", b.id, type(e).__name__)
        return math.nan
