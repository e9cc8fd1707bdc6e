"""Exchange accounts through the chat: every secret message deleted on read, the key checked by real ccxt against the
local fake OKX, refused when invalid or able to withdraw, stored only encrypted, shown masked; deletion."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.callbacks import AccCb
from bot.logging_setup import cap_secret_bearing_loggers
from db.enums import BotKind, BotStatus, MarketType
from db.models import AuditLog, ExchangeAccount, StrategyBot, User
from tests.fakes.fake_exchange import FakeExchange

U = 701
KEY, SECRET, PASS = "okxKEY-1234-abcd-5678-WXYZ", "okxSECRET-9f8e7d6c5b4a39281706", "Pass-Phrase-42"


async def _accepted(tg_id: int) -> User:
    return await User.create(telegram_id=tg_id, language="en", risk_accepted_at=datetime.now(UTC))


async def _send_secret(api, text: str):
    msg = await api.send_message(U, text)
    deleted = await api.next_call("deleteMessage", chat_id=U)
    assert int(deleted.params["message_id"]) == msg["message_id"]
    assert not api.exists(U, msg["message_id"])
    return await api.next_call("sendMessage", chat_id=U)


async def _start_dialog(api):
    menu = api.bot_message(U)
    await api.click(U, menu, AccCb(action="add").pack())
    exchanges = await api.next_call(chat_id=U)
    await api.click(U, exchanges, exchanges.button_data("OKX"))
    markets = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, markets, markets.button_data("Perpetual swap"))
    prompt = await api.next_call("editMessageText", chat_id=U)
    assert "never with withdrawal permission" in prompt.text


async def test_okx_key_dialog_deletes_secrets_checks_and_vaults(telegram_factory, caplog):
    caplog.set_level(logging.DEBUG)  # everything, as the app logs it: secret-bearing loggers stay capped at INFO
    cap_secret_bearing_loggers()
    async with FakeExchange("okx") as fake:
        fake.add_account(KEY, SECRET, PASS, {"USDT": "1000"}, can_withdraw=False)
        fake.add_account("okxWITHDRAW-key-0000-1111", "okxWITHDRAW-secret-2222", PASS, can_withdraw=True)
        h = await telegram_factory(exchange_urls=fake.url)
        api = h.api
        await _accepted(U)
        await _start_dialog(api)

        # a key that can withdraw is refused, nothing stored, back at the key step
        assert "API secret" in (await _send_secret(api, "okxWITHDRAW-key-0000-1111")).text
        assert "passphrase" in (await _send_secret(api, "okxWITHDRAW-secret-2222")).text
        await _send_secret(api, PASS)  # answers "checking…", then edits it with the verdict
        verdict = await api.next_call("editMessageText", chat_id=U)
        assert "can withdraw funds" in verdict.text and "Send the API key again" in verdict.text
        assert await ExchangeAccount.all().count() == 0

        # a wrong secret is refused as invalid
        await _send_secret(api, KEY)
        await _send_secret(api, "okxSECRET-wrong-wrong-wrong")
        await _send_secret(api, PASS)
        verdict = await api.next_call("editMessageText", chat_id=U)
        assert "refused this key" in verdict.text
        assert await ExchangeAccount.all().count() == 0

        # malformed input: deleted too, the step kept
        reply = await _send_secret(api, "short")
        assert "does not look like an API key" in reply.text

        # the good key
        await _send_secret(api, KEY)
        await _send_secret(api, SECRET)
        await _send_secret(api, PASS)
        verdict = await api.next_call("editMessageText", chat_id=U)
        assert "okx-swap added (key okxK…WXYZ)" in verdict.text

    acc = await ExchangeAccount.get(user__telegram_id=U)
    assert acc.key_hint == "okxK…WXYZ" and acc.market_type == MarketType.SWAP and not acc.is_paper
    assert h.vault.decrypt(acc.api_key_enc).reveal() == KEY
    assert h.vault.decrypt(acc.secret_enc).reveal() == SECRET
    assert h.vault.decrypt(acc.passphrase_enc).reveal() == PASS

    # no secret in plain text: not in any row, not in the FSM storage, not in a log line, not in a bot message
    rows = [str(r) for r in await ExchangeAccount.all().values()] + [str(r) for r in await AuditLog.all().values()]
    storage = str(h.dp.storage.storage) if hasattr(h.dp.storage, "storage") else ""
    sent = " ".join(c.text for c in api.calls() if c.method != "getUpdates")
    for secret in (KEY, SECRET, PASS, "okxWITHDRAW-secret-2222"):
        assert not any(secret in r for r in rows)
        assert secret not in storage
        assert secret not in caplog.text
        assert secret not in sent

    # shown masked in the list
    await api.send_command(U, "/accounts")
    listing = await api.next_call("sendMessage", chat_id=U)
    assert "okx-swap — okx swap, key okxK…WXYZ" in listing.text and KEY not in listing.text


async def test_cancel_leaves_the_key_dialog(telegram):
    api = telegram.api
    await _accepted(U)
    await _start_dialog(api)
    await api.send_command(U, "/cancel")
    reply = await api.next_call("sendMessage", chat_id=U)
    assert "Cancelled" in reply.text
    await api.send_message(U, "okxKEY-should-not-be-read-1234")  # now just text outside any dialog
    reply = await api.next_call("sendMessage", chat_id=U)
    assert "don't know that command" in reply.text
    assert not api.calls("deleteMessage")


async def test_delete_account_stops_its_bots_first(telegram):
    api = telegram.api
    user = await _accepted(U)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SPOT, label="paper-spot",
                                       is_paper=True, paper_balances={"USDT": "1000"})
    running = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT", settings={},
                                       status=BotStatus.RUNNING)
    await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="ETH/USDT", settings={})
    await api.click(U, api.bot_message(U), AccCb(action="delete", account_id=acc.id).pack())
    ask = await api.next_call(chat_id=U)
    assert "1 active bot(s) will be stopped first" in ask.text
    await api.click(U, ask, ask.button_data("Yes, delete"))
    listing = await api.next_call("editMessageText", chat_id=U)
    assert "No accounts yet" in listing.text
    assert telegram.engine.control.calls == [("stop_bot", user.id, running.id, False), ("forget_account", acc.id)]
    assert not await ExchangeAccount.filter(id=acc.id).exists()
    assert await AuditLog.filter(action="account_delete").count() == 1
