"""Hostile ids never reach the database: out-of-range ids in buttons are stale buttons, odd admin arguments get the
usage line (seen: OverflowError from the driver and a ValueError, each answered with the error apology)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from db.models import User

ADMIN, MALLORY = 901, 902
FORGED = ["bot:card:9223372036854775808", "acc:delete:1000000000000000000000", "set:edit:1:99999999999", "stop:1e400:1",
          "bot:card:-1", "acc:show:2147483648"]


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
