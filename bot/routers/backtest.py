"""Backtest: /backtest and the button on each bot's card."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import BotCb, MenuCb
from bot.filters import accepted

router = Router(name="backtest")
router.message.filter(accepted)
router.callback_query.filter(accepted)


@router.message(Command("backtest"))
async def cmd_backtest(message: Message) -> None:
    await message.answer(_("backtest.unavailable"))


@router.callback_query(BotCb.filter(F.action == "backtest"))
async def bot_backtest(query: CallbackQuery) -> None:
    await query.answer(_("backtest.unavailable"), show_alert=True)


@router.callback_query(MenuCb.filter(F.item == "backtest"))
async def menu_backtest(query: CallbackQuery) -> None:
    await query.answer(_("backtest.unavailable"), show_alert=True)
