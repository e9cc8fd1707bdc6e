"""Typed callback data of every inline button (ids only; handlers re-check ownership on each press)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.ids import RowId


class LangCb(CallbackData, prefix="lang"):
    code: str


class RiskCb(CallbackData, prefix="risk"):
    accept: bool


class MenuCb(CallbackData, prefix="menu"):
    item: str  # accounts, hyperrsi, grid, status, backtest, help, language


class AccCb(CallbackData, prefix="acc"):
    action: str  # add, paper, exchange, market, mode, paper_balance, delete, delete_yes, delete_no, show
    account_id: RowId = 0
    value: str = ""


class NewBotCb(CallbackData, prefix="nb"):
    kind: str
    account_id: RowId = 0
    symbol: str = ""


class BotCb(CallbackData, prefix="bot"):
    action: str  # card, settings, preview, start, stop, pause, resume, delete, backtest
    bot_id: RowId


class SetCb(CallbackData, prefix="set"):
    action: str  # edit, choose, presets, preset
    bot_id: RowId
    idx: RowId = 0  # the setting's position in describe() order, or the preset's position
    value: str = ""


class StopCb(CallbackData, prefix="stop"):
    bot_id: RowId
    close: bool


class StopAllCb(CallbackData, prefix="stopall"):
    confirm: bool
    close: bool = False


class StatusCb(CallbackData, prefix="st"):
    view: str  # status, positions, balance


class BacktestCb(CallbackData, prefix="bt"):
    bot_id: RowId
    equity: float = 0.0  # the stated starting equity; 0: the account's balance
