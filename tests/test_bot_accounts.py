"""Exchange accounts through the chat: every secret message deleted on read, the key checked by real ccxt against the
local fake OKX, refused when invalid or able to withdraw, stored only encrypted, shown masked; demo accounts in the
venue's demo environment, tagged DEMO; deletion."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bot.callbacks import AccCb, BotCb
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


async def _start_dialog(api, mode: str = "Real money"):
    menu = api.bot_message(U)
    await api.click(U, menu, AccCb(action="add").pack())
    exchanges = await api.next_call(chat_id=U)
    await api.click(U, exchanges, exchanges.button_data("OKX"))
    modes = await api.next_call("editMessageText", chat_id=U)
    assert "real money or demo" in modes.text and "demo funds, not real money" in modes.text
    assert "demo trading (testnet) section" in modes.text
    await api.click(U, modes, modes.button_data(mode))
    markets = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, markets, markets.button_data("Perpetual swap"))
    prompt = await api.next_call("editMessageText", chat_id=U)
    assert "never with withdrawal permission" in prompt.text
    return prompt


async def _assert_no_secret_anywhere(h, caplog, secrets) -> None:
    """Not in any row, not in the FSM storage, not in a log line, not in a bot message."""
    rows = [str(r) for r in await ExchangeAccount.all().values()] + [str(r) for r in await AuditLog.all().values()]
    storage = str(h.dp.storage.storage) if hasattr(h.dp.storage, "storage") else ""
    sent = " ".join(c.text for c in h.api.calls() if c.method != "getUpdates")
    for secret in secrets:
        assert not any(secret in r for r in rows)
        assert secret not in storage
        assert secret not in caplog.text
        assert secret not in sent


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

    assert not acc.is_demo
    await _assert_no_secret_anywhere(h, caplog, (KEY, SECRET, PASS, "okxWITHDRAW-secret-2222"))

    # shown masked in the list
    await api.send_command(U, "/accounts")
    listing = await api.next_call("sendMessage", chat_id=U)
    assert "okx-swap — okx swap, key okxK…WXYZ" in listing.text and KEY not in listing.text


DEMO_KEY, DEMO_SECRET = "okxDEMO-key-5555-aaaa-DEMO", "okxDEMO-secret-6666-bbbb-cccc"


async def test_okx_demo_account_is_checked_in_the_demo_environment_and_tagged_demo(telegram_factory, caplog):
    """Issue 16: a key is checked in the environment the user chose (the fake OKX, like the real one, refuses a key
    outside its own); a refused key leaves the dialog at the key step of the same choice; the demo account is
    stored as such, read in the demo environment and tagged DEMO wherever it is named."""
    caplog.set_level(logging.DEBUG)
    cap_secret_bearing_loggers()
    async with FakeExchange("okx") as fake:
        fake.add_account(KEY, SECRET, PASS, {"USDT": "1000"})
        fake.add_account(DEMO_KEY, DEMO_SECRET, PASS, {"USDT": "2500"}, demo=True)
        h = await telegram_factory(exchange_urls=fake.url)
        api = h.api
        await _accepted(U)

        # a demo key offered for real money: refused, with the likely mistake named
        await _start_dialog(api, "Real money")
        for secret in (DEMO_KEY, DEMO_SECRET, PASS):
            await _send_secret(api, secret)
        verdict = await api.next_call("editMessageText", chat_id=U)
        assert "refused this key" in verdict.text and "add it as a demo account" in verdict.text
        await api.send_command(U, "/cancel")
        await api.next_call("sendMessage", chat_id=U)

        # a live key offered as demo: refused in the demo environment, the dialog stays at the demo key step
        prompt = await _start_dialog(api, "Demo")
        assert "send a key created in OKX's demo trading section" in prompt.text
        for secret in (KEY, SECRET, PASS):
            await _send_secret(api, secret)
        verdict = await api.next_call("editMessageText", chat_id=U)
        assert "OKX's demo environment refused this key" in verdict.text and "real-money key" in verdict.text
        assert "Send the API key again" in verdict.text
        assert await ExchangeAccount.all().count() == 0

        # the demo key, sent next without starting over
        for secret in (DEMO_KEY, DEMO_SECRET, PASS):
            await _send_secret(api, secret)
        verdict = await api.next_call("editMessageText", chat_id=U)
        assert "okx-swap [DEMO] added (key okxD…DEMO)" in verdict.text

        acc = await ExchangeAccount.get(user__telegram_id=U)
        assert acc.is_demo and not acc.is_paper and acc.label == "okx-swap"
        assert h.vault.decrypt(acc.api_key_enc).reveal() == DEMO_KEY
        assert (await AuditLog.get(action="account_add")).details == {"exchange": "okx", "demo": True}

        listing = await h.reply(U, "/accounts")
        assert "okx-swap [DEMO] — okx swap, key okxD…DEMO" in listing
        balance = await h.reply(U, "/balance")  # read with the demo key: only the demo environment answers it
        assert "okx-swap [DEMO] (okx, swap)" in balance and "2,500.00" in balance, balance
        b = await StrategyBot.create(user_id=acc.user_id, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                     settings={})
        await api.click(U, api.bot_message(U), BotCb(action="card", bot_id=b.id).pack())
        card = await api.next_call("editMessageText", chat_id=U)
        assert "Account: okx-swap [DEMO]" in card.text
    await _assert_no_secret_anywhere(h, caplog, (KEY, SECRET, PASS, DEMO_KEY, DEMO_SECRET))


async def test_demo_is_never_offered_where_the_venue_has_none(telegram):
    """Upbit has no demo environment and paper is no exchange: no question, and a forged demo button is stale and
    leaves the dialog where it was."""
    from bot.services import accounts

    api = telegram.api
    user = await _accepted(U)
    await api.click(U, api.bot_message(U), AccCb(action="add").pack())
    exchanges = await api.next_call(chat_id=U)
    await api.click(U, exchanges, exchanges.button_data("UPBIT"))
    markets = await api.next_call("editMessageText", chat_id=U)
    assert markets.text.startswith("UPBIT: spot") and not any("demo" in t.lower() for t, _d in markets.buttons())
    await api.click(U, markets, markets.button_data("Spot"))
    prompt = await api.next_call("editMessageText", chat_id=U)
    assert prompt.text.startswith("Send your UPBIT API key") and "demo" not in prompt.text.lower()
    forged = [("mode", v) for v in ("upbit.demo", "upbit.live", "paper.demo", "okx.bogus", "okx")]
    forged += [("market", v) for v in ("upbit.spot.demo", "paper.spot.demo", "paper.swap.live", "okx.spot.live",
                                       "okx.margin.demo", "okx.spot.demo.x")]
    for action, value in forged:
        await api.click(U, prompt, AccCb(action=action, value=value).pack())
        await api.next_call("answerCallbackQuery", text_contains="no longer valid")
    reply = await _send_secret(api, "short")  # still at Upbit's key step
    assert "does not look like an API key" in reply.text

    await api.click(U, api.bot_message(U), AccCb(action="paper").pack())
    paper = await api.next_call(chat_id=U)
    assert not any("demo" in text.lower() for text, _data in paper.buttons())
    assert [v for v in ("okx", "binance", "bybit", "bitget", "upbit", "paper") if accounts.offers_demo(v)] == [
        "okx", "binance", "bybit", "bitget"]
    with pytest.raises(ValueError, match="no demo"):
        await accounts.create_live(user, "upbit", MarketType.SPOT, api_key_enc="x", secret_enc="y",
                                   passphrase_enc=None, key_hint="…", is_demo=True)
    assert await ExchangeAccount.all().count() == 0


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


async def _live_okx(user: User, vault) -> ExchangeAccount:
    from tests.fakes.gateways import KEY as VENUE_KEY
    from tests.fakes.gateways import PASSPHRASE as VENUE_PASS
    from tests.fakes.gateways import SECRET as VENUE_SECRET

    return await ExchangeAccount.create(user=user, exchange="okx", market_type=MarketType.SPOT, label="okx-spot",
                                        api_key_enc=vault.encrypt(VENUE_KEY), secret_enc=vault.encrypt(VENUE_SECRET),
                                        passphrase_enc=vault.encrypt(VENUE_PASS), key_hint="tb-t…b6a")


async def test_deleting_an_account_closes_and_forgets_the_gateway_holding_its_key(telegram_factory):
    """Issue 14: the engine kept the gateway with the decrypted key until a restart. Through the chat, with the real
    engine holding the account's gateway (as a running bot's attach leaves it): after "Yes, delete" the gateway is
    closed and gone, the row its orders need stays marked deleted with its secrets wiped, and it leaves every list."""
    from cryptography.fernet import Fernet

    from db.enums import OrderRole, OrderSide, OrderType
    from db.models import Order
    from db.vault import Vault
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine
    from tests.fakes.gateways import venue

    vault = Vault([Fernet.generate_key().decode()])
    async with venue("okx") as fake:
        engine = Engine(vault=vault, clock=ManualClock(1_800_000_000_000), urls_override={"okx": fake.url})
        h = await telegram_factory(engine=engine, vault=vault, exchange_urls={"okx": fake.url})
        api = h.api
        user = await _accepted(U)
        acc = await _live_okx(user, vault)
        bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT", settings={},
                                       status=BotStatus.STOPPED)
        await Order.create(bot=bot, account=acc, client_order_id="tb1", symbol="BTC/USDT", role=OrderRole.ENTRY,
                           side=OrderSide.BUY, type=OrderType.LIMIT, price="100", amount="1")
        ex = await engine.exchange_for(acc)
        await ex.fetch_balance()
        closed: list[bool] = []
        real_close = ex.inner.close
        ex.inner.close = lambda: closed.append(True) or real_close()
        await api.click(U, api.bot_message(U), AccCb(action="delete", account_id=acc.id).pack())
        ask = await api.next_call(chat_id=U)
        await api.click(U, ask, ask.button_data("Yes, delete"))
        listing = await api.next_call("editMessageText", chat_id=U)
        assert "No accounts yet" in listing.text
        assert acc.id not in engine.exchanges and closed == [True]
    row = await ExchangeAccount.get(id=acc.id)
    assert row.deleted_at is not None and row.label == "okx-spot"
    assert row.api_key_enc is None and row.secret_enc is None and row.passphrase_enc is None
    assert await AuditLog.filter(action="account_delete", object_id=str(acc.id)).count() == 1
    api.drain()
    await api.click(U, api.bot_message(U), AccCb(action="delete_yes", account_id=acc.id).pack())
    answer = await api.next_call("answerCallbackQuery")
    assert "does not belong to you" in answer.params["text"]  # a deleted account is no one's to press on


@pytest.mark.parametrize("command", ["/balance", "/positions"])
async def test_a_view_of_a_live_account_leaves_no_gateway_open(telegram_factory, gateway_closes, command):
    """A view that only reads a live account with no running bot opens a gateway for the read and closes it: the
    engine keeps none, so no decrypted key stays in memory because someone typed /balance, or /positions while a
    stopped bot still holds a position (its market's precision is read)."""
    from cryptography.fernet import Fernet

    from db.models import Position
    from db.vault import Vault
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine
    from tests.fakes.gateways import venue

    closes = gateway_closes
    vault = Vault([Fernet.generate_key().decode()])
    async with venue("okx") as fake:
        engine = Engine(vault=vault, clock=ManualClock(1_800_000_000_000), urls_override={"okx": fake.url})
        h = await telegram_factory(engine=engine, vault=vault, exchange_urls={"okx": fake.url})
        acc = await _live_okx(await _accepted(U), vault)
        b = await StrategyBot.create(user_id=acc.user_id, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT",
                                     settings={}, status=BotStatus.STOPPED)
        await Position.create(bot=b, symbol="BTC/USDT", side="long", size="0.12345678", average_entry="60000")
        reply = await h.reply(U, command)
    if command == "/balance":
        assert "okx-spot" in reply and "100,000.00" in reply, reply
    else:
        assert "@ 60,000.0," in reply, reply  # to the market's tick, which only the venue knows
    assert engine.exchanges == {} and closes

