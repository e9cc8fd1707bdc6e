"""Shows a bot's card anew in the chat once the engine finished what the card asked for (a stop whose close filled)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.utils.i18n import I18n

from bot.bot_card import bot_card
from bot.services import bots
from bot.services.users import User

log = logging.getLogger(__name__)


class CardRefresher:
    """Edits the card message (chat id, message id) to the bot's current card in the user's language."""

    def __init__(self, bot: Bot, i18n: I18n):
        self.bot, self.i18n = bot, i18n

    async def __call__(self, user: User, card: list[int], bot_id: int, lang: str) -> None:
        b = await bots.own(user, bot_id)
        if b is None:
            return
        with self.i18n.context(), self.i18n.use_locale(lang):
            text, markup = await bot_card(b)
        chat_id, message_id = card
        try:
            await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except TelegramBadRequest as e:  # the card was deleted, is too old to edit, or already shows this
            log.info("bot %s: card not refreshed (%s)", bot_id, e.message[:80])
