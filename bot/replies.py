"""Small helpers for answering: edit the pressed message in place, or send a new one."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the pressed message's text and keyboard; a new message when it cannot be edited."""
    msg = query.message
    if isinstance(msg, Message) and msg.text is not None:
        try:
            await msg.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as e:
            if "not modified" in str(e):
                return
    if msg is not None:
        await query.bot.send_message(msg.chat.id, text, reply_markup=markup)
