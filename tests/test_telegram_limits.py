"""Telegram's limits are kept for every send (the stand-in refuses what Telegram refuses): a 5,048-character text,
an empty one and a 342-character callback answer reach the chat cut to fit, instead of being refused."""

from __future__ import annotations

import logging

from bot.app import make_bot
from bot.sandbox.bot_api import BotAPIStandIn
from bot.telegram_limits import fit
from db.config import AppConfig


def test_fit_counts_utf16_units_and_never_splits_a_pair():
    assert fit("abc", 3) == "abc"
    assert fit("abcd", 3) == "ab…"
    cut = fit("😀" * 5, 4)  # each emoji is two UTF-16 units
    assert cut == "😀…" and len(cut.encode("utf-16-le")) // 2 <= 4


async def test_every_send_fits_telegrams_limits(caplog):
    api = await BotAPIStandIn().start()
    bot = make_bot(AppConfig(BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url))
    try:
        with caplog.at_level(logging.WARNING, logger="bot.telegram_limits"):
            long = await bot.send_message(7, "1234567890" * 504 + "12345678")  # 5,048 characters
            empty = await bot.send_message(7, "   ")
            await bot.edit_message_text("é" * 5000, chat_id=7, message_id=long.message_id)
            msg = api.bot_message(7)
            qid = await api.click(7, msg, "x")
            await bot.answer_callback_query(qid, text="a" * 342, show_alert=True)
    finally:
        await bot.session.close()
        await api.stop()
    sent = api.calls("sendMessage")
    assert [len(c.text) for c in sent] == [4096, 1] and sent[0].text.endswith("…") and empty.text == "…"
    assert len(api.calls("editMessageText")[0].text) == 4096
    assert len(api.calls("answerCallbackQuery")[0].params["text"]) == 200
    assert all(c.ok for c in api.calls())
    assert sum("cut to Telegram's" in r.getMessage() for r in caplog.records) == 3
