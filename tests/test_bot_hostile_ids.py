"""Hostile ids never reach the database: out-of-range ids in buttons are stale buttons, odd admin arguments get the
usage line (seen: OverflowError from the driver and a ValueError, each answered with the error apology)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from db.models import User

ADMIN, MALLORY = 901, 902
FORGED = ["bot:card:9223372036854775808", "acc:delete:1000000000000000000000", "set:edit:1:99999999999", "stop:1e400:1",
          "bot:card:-1", "acc:show:2147483648", "acc:market:0:paper.bogus", "acc:market:0:okx.bogus"]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_button_ids_are_stale_buttons(telegram_factory, data):
    h = await telegram_factory()
    await User.create(telegram_id=MALLORY, risk_accepted_at=datetime.now(UTC))
    await h.api.click(MALLORY, h.api.bot_message(MALLORY), data)
    answer = await h.api.next_call("answerCallbackQuery")
    assert answer.params.get("show_alert") in ("true", True) and "no longer valid" in answer.params["text"]
    await h.api.no_call("sendMessage", chat_id=MALLORY)  # no apology, no error


@pytest.mark.parametrize("arg", ["99999999999999999999", "²", "١٢٣", "12 34", "-", "9223372036854775808"])
async def test_odd_admin_arguments_get_the_usage(telegram_factory, arg):
    h = await telegram_factory(admin_ids=[ADMIN])
    await User.create(telegram_id=ADMIN, risk_accepted_at=datetime.now(UTC))
    for command in ("/user", "/block", "/unblock"):
        assert f"Usage: {command}" in await h.reply(ADMIN, f"{command} {arg}")


GROUP = {"id": -100123, "type": "supergroup", "title": "Traders"}
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}


async def test_an_anonymous_group_admin_is_told_to_use_a_private_chat(telegram_factory):
    """Seen: /start from an anonymous group admin (Telegram sends it as a bot) ended in the error apology."""
    h = await telegram_factory()
    await h.api.inject({"message": {"message_id": 1, "date": 1_800_000_000, "chat": GROUP, "sender_chat": GROUP,
                                    "from": ANONYMOUS_ADMIN, "text": "/start",
                                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}})
    reply = await h.api.next_call("sendMessage", chat_id=GROUP["id"])
    assert "private chat" in reply.text
    await h.api.inject({"message": {"message_id": 2, "date": 1_800_000_000, "chat": GROUP,
                                    "from": {"id": 55, "is_bot": False, "first_name": "P"}, "text": "hello"}})
    await h.api.no_call("sendMessage", chat_id=GROUP["id"])  # plain group chatter is ignored
    assert not await User.filter(telegram_id__in=[ANONYMOUS_ADMIN["id"], 55]).exists()
