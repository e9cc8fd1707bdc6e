"""The risk card before Start, for both strategies: sizes per entry, add and level in coins and USDT, the worst case
with every add or level filled, the liquidation estimate at the leverage, where a fall ends and what it costs, the
fees, and these exact settings backtested over the symbol's last 30 days; the Start button under it all."""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import numbers as nb
from bot.backtest_run import Run, in_worker, prepare, signed_pct, why_text
from bot.bot_card import bot_title
from bot.callbacks import BotCb
from bot.keyboards import Keyboard
from bot.markets import ExchangeReader, last_price
from bot.services import accounts
from bot.services.bots import StrategyBot
from bot.settings_editor import problems
from db.enums import BotKind

if TYPE_CHECKING:
    from engine.exchange.protocol import Exchange, Market
    from engine.strategies.grid_settings import GridSettings
    from engine.strategies.risk import GridRisk, SideRisk

log = logging.getLogger(__name__)

DAYS = 30
DAY_MS = 86_400_000
MINI_TIMEOUT = 20.0  # seconds for the 30-day backtest; the card shows the risk figures without it after that
MIN_SHARE = 0.9  # of the 30 days' candles the exchange must have for the backtest to run


def candles_wanted(timeframe: str) -> int:
    from engine.candles import timeframe_ms

    return DAYS * DAY_MS // timeframe_ms(timeframe)


async def risk_view(b: StrategyBot, exchanges: ExchangeReader) -> tuple[str, InlineKeyboardMarkup]:
    """The card, or why there is none yet (invalid settings, no price, a grid that cannot be placed)."""
    from engine.exchange.paper import MAINTENANCE
    from engine.exchange.units import base_market

    kind = BotKind(b.kind)
    kb = Keyboard()
    kb.button(text=_("card.settings"), callback_data=BotCb(action="settings", bot_id=b.id))
    kb.button(text=_("common.back"), callback_data=BotCb(action="card", bot_id=b.id))
    issues = problems(kind, b.settings)
    if issues:
        return "\n".join([_("preview.invalid"), *[f"⚠️ {p}" for p in issues]]), kb.adjust(2).as_markup()
    timeframe = b.settings.get("timeframe", "15m")
    account = await accounts.by_id(b.account_id)  # type: ignore[attr-defined]
    async with exchanges.reading(account) as ex:
        m = base_market(await ex.market(b.symbol))  # amounts in the base currency, whichever unit the exchange speaks
        price = await last_price(ex, b.symbol)
        run = await prepare(ex, account, m, b.symbol, timeframe, candles_wanted(timeframe))
        grid_atr = await _grid_atr(ex, b) if kind == BotKind.GRID else math.nan
    mn = nb.MarketNumbers.from_market(m)
    if price is None and len(run.candles):
        price = float(run.candles.close[-1])
    if kind == BotKind.GRID:
        body = _grid(b, m, mn, price, grid_atr, float(MAINTENANCE), run)
    else:
        body = _hyperrsi(b, m, mn, price, float(MAINTENANCE), run)
    if body is None:
        return _("preview.no_market_data"), kb.adjust(2).as_markup()
    lines, startable, need = body
    if startable and run.source == "balance" and run.equity < need:
        lines.append(_("risk.short_balance").format(balance=mn.money(run.equity), need=mn.money(need)))
    lines = [_("risk.title").format(title=bot_title(b)), *lines, "", await mini_backtest(b, run, mn)]
    if not startable:
        return "\n".join(lines), kb.adjust(2).as_markup()
    start = Keyboard()
    start.button(text=_("card.start"), callback_data=BotCb(action="start", bot_id=b.id))
    start.attach(kb)
    return "\n".join(lines), start.adjust(1, 2).as_markup()


# ---- HYPERRSI ----

def _hyperrsi(b: StrategyBot, m: Market, mn: nb.MarketNumbers, price: float | None, maintenance: float,
              run: Run) -> tuple[list[str], bool, float] | None:
    from engine.indicators import atr as atr_series
    from engine.strategies.hyperrsi_settings import HyperRsiSettings
    from engine.strategies.risk import hyperrsi_risk
    from engine.strategy_inputs import HYPERRSI_ATR

    s = HyperRsiSettings(**b.settings)
    c = run.candles
    if price is None:
        return None
    atr = float(atr_series(c.high, c.low, c.close, HYPERRSI_ATR)[-1]) if len(c) > HYPERRSI_ATR else math.nan
    taker, maker = run.costs["taker_fee"], run.costs["maker_fee"]
    r = hyperrsi_risk(s, run.rules, price, atr=atr, taker_fee=taker, maker_fee=maker, maintenance=maintenance)
    lines = [_("risk.price").format(price=mn.price(price), quote=m.quote, leverage=s.leverage,
                                    taker=nb.pct(taker * 100), maker=nb.pct(maker * 100))]
    startable, need = False, 0.0
    for side in r.sides:
        lines += ["", _("risk.side.long") if side.side == "long" else _("risk.side.short")]
        if side.entry.below_minimum:
            lines.append(_("risk.entry_below_minimum").format(
                amount=mn.amount(side.entry.amount), value=mn.money(side.entry.notional),
                min=mn.money(run.rules.min_cost) if run.rules.min_cost else mn.amount(run.rules.min_amount)))
            continue
        startable = True
        need = max(need, side.margin(s.leverage) + side.worst.fees)
        lines += _side_lines(side, s.leverage, mn, s.pyramiding_enabled)
    if startable:
        first = next(sd for sd in r.sides if not sd.entry.below_minimum)
        fee_in, fee_tp, fee_stop = r.entry_fees(first)
        lines += ["", _("risk.entry_fees").format(fee_in=mn.money(fee_in), fee_tp=mn.money(fee_tp),
                                                  fee_stop=mn.money(fee_stop))]
        if r.atr_missing:
            lines.append(_("risk.atr_missing"))
        lines.append(_("risk.model").format(rate=nb.pct(maintenance * 100)))
    return lines, startable, need


def _side_lines(side: SideRisk, leverage: int, mn: nb.MarketNumbers, pyramiding: bool) -> list[str]:
    e, w = side.entry, side.worst
    out = [_("risk.entry").format(amount=mn.amount(e.amount), value=mn.money(e.notional),
                                  margin=mn.money(e.notional / leverage))]
    for n, add in enumerate(side.adds, start=1):
        text = _("risk.add_below_minimum") if add.below_minimum else _("risk.add")
        out.append(text.format(n=n, price=mn.price(add.price), amount=mn.amount(add.amount),
                               value=mn.money(add.notional)))
    if not pyramiding:
        out.append(_("risk.no_adds"))
    elif w.adds:
        out.append(_("risk.all_adds").format(amount=mn.amount(w.size), value=mn.money(w.notional),
                                             average=mn.price(w.average), margin=mn.money(side.margin(leverage)),
                                             fees=mn.money(w.fees)))
    if w.liquidation is not None:
        out.append(_("risk.liquidation").format(price=mn.price(w.liquidation), leverage=leverage))
    at = side.ends_at
    if at is None:
        return out
    when = _("risk.when_add").format(n=at.adds) if at.adds else _("risk.when_entry")
    figures = {"when": when, "loss": mn.money(side.loss), "stop": mn.price(at.stop), "liq": mn.price(side.exit_price)}
    if side.ends_by == "stop":
        out.append(_("risk.stop").format(**figures))
    elif side.warning == "stop_beyond_liquidation":
        out.append(_("risk.stop_beyond").format(**figures))
    elif side.warning == "liquidated_before_stop":
        out.append(_("risk.liquidated_first").format(**figures))
    elif side.ends_by == "liquidation":
        out.append(_("risk.no_stop").format(**figures))
    else:
        out.append(_("risk.no_stop_no_liq"))
    return out


# ---- GRID ----

def _grid(b: StrategyBot, m: Market, mn: nb.MarketNumbers, price: float | None, atr: float, maintenance: float,
          run: Run) -> tuple[list[str], bool, float] | None:
    from engine.exchange.units import contracts
    from engine.strategies.grid_ladder import PlanRefused
    from engine.strategies.grid_settings import GridSettings
    from engine.strategies.risk import grid_risk

    s = GridSettings(**b.settings)
    if s.mode == "adaptive" and (price is None or not math.isfinite(atr)):
        return None
    if price is None:
        price = (s.lower_price + s.upper_price) / 2
    try:
        r = grid_risk(s, run.rules, price, atr, maker_fee=float(m.maker_fee) if m.maker_fee is not None else None,
                      taker_fee=float(m.taker_fee) if m.taker_fee is not None else None, maintenance=maintenance,
                      swap=run.kind == "swap")
    except PlanRefused as e:
        detail = ", ".join(f"{k}={nb.plain(v)}" for k, v in e.details.items())
        return [_("preview.refused").format(reason=_(f"refused.{e.reason}"), detail=detail)], False, 0.0
    p, quote = r.preview, m.quote
    low, high = min(p.amounts), max(p.amounts)
    size = {"low": mn.amount(low, unit=False), "high": mn.amount(high)}
    if m.contract_size != 1:  # a contract market: the count of contracts too, to the venue's contract lot
        lot = contracts(m.amount_step, m)
        size |= {"clow": nb.amount(contracts(Decimal(str(low)), m), lot),
                 "chigh": nb.amount(contracts(Decimal(str(high)), m), lot)}
        size_line = _("preview.size_contracts").format(**size)
    else:
        size_line = _("preview.size").format(**size)
    value = _("risk.level_value").format(low=mn.money(r.value_per_level[0], unit=False),
                                         high=mn.money(r.value_per_level[1]))
    lines = [
        _("preview.levels").format(n=len(p.levels), low=mn.price(min(p.levels)), high=mn.price(max(p.levels))),
        f"{size_line} {value}",
        _("preview.profit").format(fee=nb.pct(p.fee_rate * 100), low=nb.pct(p.profit_per_grid_pct[0]),
                                   high=nb.pct(p.profit_per_grid_pct[1]),
                                   qlow=mn.money(p.profit_per_grid_quote[0], unit=False),
                                   qhigh=mn.money(p.profit_per_grid_quote[1])),
        _("preview.capital").format(amount=mn.money(p.capital_needed, unit=False), quote=quote),
        _("preview.price").format(price=mn.price(price), quote=quote),
    ]
    lines += _grid_risk_lines(s, r, mn, maintenance)
    return lines, True, p.capital_needed


def _grid_risk_lines(s: GridSettings, r: GridRisk, mn: nb.MarketNumbers, maintenance: float) -> list[str]:
    out = []
    for e in r.exposures:
        text = _("risk.grid_filled_long") if e.side == "long" else _("risk.grid_filled_short")
        out.append(text.format(amount=mn.amount(e.size), value=mn.money(e.notional), average=mn.price(e.average)))
        if e.liquidation is not None:
            out.append(_("risk.grid_liquidation").format(price=mn.price(e.liquidation), leverage=s.leverage))
    sl = s.stop_loss_price
    if r.loss_at_stop is not None:
        out.append(_("risk.grid_loss").format(stop=mn.price(sl), loss=mn.money(r.loss_at_stop),
                                              fees=mn.money(r.entry_fees + r.stop_fee)))
    if r.stop_beyond_liquidation:
        liq = next(e.liquidation for e in r.exposures if e.liquidation is not None and
                   e.side == ("short" if s.direction == "short" else "long"))
        out.append(_("risk.grid_stop_beyond").format(stop=mn.price(sl), liq=mn.price(liq)))
    fees = {"maker": nb.pct(r.preview.fee_rate * 100), "entry": mn.money(r.entry_fees),
            "taker": nb.pct(r.taker_fee * 100), "stop": mn.money(r.stop_fee)}
    out.append(_("risk.grid_fees_stop" if sl else "risk.grid_fees").format(**fees))
    if any(e.liquidation is not None for e in r.exposures):
        out.append(_("risk.model").format(rate=nb.pct(maintenance * 100)))
    return out


async def _grid_atr(ex: Exchange, b: StrategyBot) -> float:
    """The last ATR of the bot's timeframe, for an adaptive grid's spacing; NaN without candles (or not needed)."""
    import numpy as np

    from engine.indicators import atr as atr_series
    from engine.strategies.grid_settings import GridSettings

    if b.settings.get("mode") != "adaptive":
        return math.nan
    s = GridSettings(**b.settings)
    try:
        rows = await ex.fetch_ohlcv(b.symbol, s.timeframe, limit=s.atr_length * 4)
        arr = np.asarray(rows, dtype=float)
        return float(atr_series(arr[:, 2], arr[:, 3], arr[:, 4], s.atr_length)[-1])
    except Exception as e:  # no candles: the card says so
        log.info("no candles for the preview of bot %s: %s", b.id, type(e).__name__)
        return math.nan


# ---- the 30-day backtest ----

async def mini_backtest(b: StrategyBot, run: Run, mn: nb.MarketNumbers) -> str:
    """These exact settings over the symbol's last 30 days of candles of the bot's timeframe: return, max drawdown,
    trades; or why not (too few candles, too slow, failed)."""
    need, have = candles_wanted(run.timeframe), len(run.candles)
    if have < need * MIN_SHARE:
        return _("risk.mini_no_candles").format(n=nb.plain(have), need=nb.plain(need), timeframe=run.timeframe)
    try:
        result, why = await in_worker(run.simulate_explained, b.kind.value, b.settings, timeout=MINI_TIMEOUT)
    except TimeoutError:
        log.info("the 30-day backtest of bot %s took over %ss", b.id, MINI_TIMEOUT)
        return _("risk.mini_timeout")
    except Exception as e:
        log.warning("the 30-day backtest of bot %s failed: %s", b.id, type(e).__name__, exc_info=True)
        return _("risk.mini_failed")
    return "\n".join(mini_lines(result, why, run, mn))


def mini_lines(result: Any, why: tuple[str, dict] | None, run: Run, mn: nb.MarketNumbers) -> list[str]:
    met = result.metrics
    sources = {"balance": _("backtest.source.balance"), "asked": _("backtest.source.asked"),
               "default": _("backtest.source.default")}
    pnl = met.final_equity - met.initial_equity
    lines = [_("risk.mini").format(n=nb.plain(len(run.candles)), timeframe=run.timeframe,
                                   equity=mn.money(met.initial_equity), source=sources[run.source],
                                   ret=signed_pct(met.total_return_pct),
                                   pnl=("+" if round(pnl, 2) > 0 else "") + mn.money(pnl),
                                   dd=nb.pct(met.max_drawdown_pct), trades=met.trades)]
    for reason, d in result.notes:
        if reason == "liquidation":
            lines.append(_("backtest.liquidations").format(count=d.get("count", 0)))
    if why is not None and why[0] != "position_open":  # a position still open shows in the return
        lines.append(why_text(why, mn))
    lines.append(_("backtest.disclaimer"))
    return lines
