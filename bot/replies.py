"""Answering a button press: edit the pressed message in place (or send a new one), alerts through the injected
`callback_answer` (aiogram's CallbackAnswerMiddleware answers every press once, after its handler)."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

ALERT_LIMIT = 190  # characters of an alert; Telegram refuses callback answers over 200


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


def alert(callback_answer: CallbackAnswer, text: str) -> None:
    """The press is answered with `text` in a popup the user must close."""
    callback_answer.text = text[:ALERT_LIMIT]
    callback_answer.show_alert = True


def toast(callback_answer: CallbackAnswer, text: str) -> None:
    """The press is answered with `text` shown briefly at the top of the chat."""
    callback_answer.text = text


async def answer_now(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """Answer before slow work (fetches from the exchange, a backtest) so the button stops spinning at once."""
    callback_answer.disable()
    await query.answer()
