"""Every dialog fed bad input — non-numbers, out-of-range values, unknown symbols, stale buttons, another user's
callback data — answers with a clear message and keeps the dialog where it was."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.callbacks import AccCb, BotCb, NewBotCb, SetCb, StopCb
from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from tests.fakes.telegram_fixtures import FakeEngine

A, B = 601, 602


async def _user(tg_id: int, language: str = "en") -> User:
    return await User.create(telegram_id=tg_id, language=language, risk_accepted_at=datetime.now(UTC))


async def _grid_bot(user: User, status: BotStatus = BotStatus.DRAFT) -> StrategyBot:
    from bot.settings_editor import defaults

    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP,
                                       label=f"paper-{user.id}", is_paper=True, paper_balances={"USDT": "10000"})
    settings = defaults(BotKind.GRID) | {"lower_price": 40000.0, "upper_price": 60000.0}
    return await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                    settings=settings, status=status)


def _spec_index(name: str) -> int:
    from bot.settings_editor import specs

    return list(specs(BotKind.GRID)).index(name)


async def test_editor_refuses_bad_numbers_and_keeps_the_prompt(telegram):
    api = telegram.api
    user = await _user(A)
    bot = await _grid_bot(user)
    await api.click(A, api.bot_message(A), SetCb(action="edit", bot_id=bot.id, idx=_spec_index("levels")).pack())
    prompt = await api.next_call("editMessageText", chat_id=A, ok=None)
    for text, expected in [("abc", "is not a number"), ("500", "Out of range. Allowed: from 2 to 200"),
                           ("2.5", "whole number"), ("nan", "is not a number"), ("1", "Out of range")]:
        await api.send_message(A, text)
        reply = await api.next_call("sendMessage", chat_id=A)
        assert expected in reply.text, (text, reply.text)
        assert "/cancel" in reply.text
    await bot.refresh_from_db()
    assert bot.settings["levels"] == 20  # unchanged by all of that
    await api.send_message(A, "30")  # the dialog is still waiting for the value
    saved = await api.next_call("sendMessage", chat_id=A)
    assert "Levels saved" in saved.text
    await bot.refresh_from_db()
    assert bot.settings["levels"] == 30
    assert prompt.text.startswith("Levels")


async def test_editor_errors_in_korean_and_exclusive_bounds(telegram):
    api = telegram.api
    user = await _user(A, "ko")
    bot = await _grid_bot(user)
    await api.click(A, api.bot_message(A), SetCb(action="edit", bot_id=bot.id, idx=_spec_index("investment")).pack())
    prompt = await api.next_call(chat_id=A)
    assert "투자금" in prompt.text and "0 초과" in prompt.text
    await api.send_message(A, "0")
    reply = await api.next_call("sendMessage", chat_id=A)
    assert "범위를 벗어났습니다" in reply.text
    await api.send_message(A, "열")
    reply = await api.next_call("sendMessage", chat_id=A)
    assert "숫자가 아닙니다" in reply.text
    await api.send_message(A, "2,500 USDT")
    saved = await api.next_call("sendMessage", chat_id=A)
    assert "저장했습니다" in saved.text
    await bot.refresh_from_db()
    assert bot.settings["investment"] == 2500


async def test_incoherent_settings_block_the_start_with_a_translated_reason(telegram):
    api = telegram.api
    user = await _user(A)
    bot = await _grid_bot(user)
    await api.click(A, api.bot_message(A), SetCb(action="edit", bot_id=bot.id, idx=_spec_index("lower_price")).pack())
    await api.next_call(chat_id=A)
    await api.send_message(A, "70000")  # above the upper price: the field is fine alone, the model is not
    card = await api.next_call("sendMessage", chat_id=A)
    assert "lower price above 0 and below the upper price" in card.text
    await api.click(A, card, BotCb(action="preview", bot_id=bot.id).pack())
    preview = await api.next_call(chat_id=A)
    assert "not valid yet" in preview.text
    await api.next_call("answerCallbackQuery")
    api.drain()
    await api.click(A, card, BotCb(action="start", bot_id=bot.id).pack())
    answer = await api.next_call("answerCallbackQuery")
    assert answer.params.get("show_alert") in ("true", True, "True")
    assert "below the upper price" in answer.params["text"]
    assert telegram.engine.control.calls == []


async def test_paper_balance_and_unknown_symbol_keep_the_dialog(telegram_factory):
    h = await telegram_factory(engine=FakeEngine(prices={"ETH/USDT:USDT": 3000.0}))
    api = h.api
    await _user(A)
    await api.click(A, api.bot_message(A), AccCb(action="market", value="paper.swap").pack())
    await api.next_call(chat_id=A)
    for bad in ("-5", "lots", "1e400", "0"):
        await api.send_message(A, bad)
        reply = await api.next_call("sendMessage", chat_id=A)
        assert "positive amount of USDT" in reply.text, bad
    assert await ExchangeAccount.filter(user__telegram_id=A).count() == 0
    await api.send_message(A, "5000")
    added = await api.next_call("sendMessage", chat_id=A)
    assert "5000 USDT" in added.text
    acc = await ExchangeAccount.get(user__telegram_id=A)

    await api.click(A, added, NewBotCb(kind="grid", account_id=acc.id).pack())
    await api.next_call("editMessageText", chat_id=A)
    for bad in ("FOOBAR", "BTC/XYZ", "🙂"):
        await api.send_message(A, bad)
        reply = await api.next_call("sendMessage", chat_id=A)
        assert "cannot find the market" in reply.text and "BTC/USDT perpetual" in reply.text, reply.text
    assert await StrategyBot.filter(user__telegram_id=A).count() == 0
    await api.send_message(A, "eth")
    created = await api.next_call("sendMessage", chat_id=A)
    assert "Bot created" in created.text
    bot = await StrategyBot.get(user__telegram_id=A)
    assert bot.symbol == "ETH/USDT:USDT" and bot.settings["lower_price"] == 2700


async def test_stale_and_malformed_buttons(telegram):
    api = telegram.api
    user = await _user(A)
    bot = await _grid_bot(user)
    msg = api.bot_message(A)
    cases = [
        SetCb(action="choose", bot_id=bot.id, idx=_spec_index("spacing"), value="9").pack(),  # no such choice
        SetCb(action="edit", bot_id=bot.id, idx=999).pack(),  # no such setting
        SetCb(action="preset", bot_id=bot.id, idx=42).pack(),
        BotCb(action="card", bot_id=987654).pack(),  # a deleted bot
        NewBotCb(kind="nonsense").pack(),
        AccCb(action="exchange", value="mtgox").pack(),
        "garbage-data",
        "bot:card:notanumber",
    ]
    for data in cases:
        await api.click(A, msg, data)
        answer = await api.next_call("answerCallbackQuery", timeout=5)
        assert answer.params.get("text"), data
        assert "no longer valid" in answer.params["text"] or "does not belong" in answer.params["text"], data
    await bot.refresh_from_db()
    assert bot.settings["spacing"] == "arithmetic"


async def test_another_users_callback_data_is_refused(telegram):
    api = telegram.api
    owner = await _user(A)
    await _user(B)
    bot = await _grid_bot(owner, status=BotStatus.RUNNING)
    acc = await ExchangeAccount.get(user=owner)
    msg = api.bot_message(B)
    for data in [
        BotCb(action="card", bot_id=bot.id).pack(),
        BotCb(action="settings", bot_id=bot.id).pack(),
        BotCb(action="pause", bot_id=bot.id).pack(),
        BotCb(action="stop", bot_id=bot.id).pack(),
        StopCb(bot_id=bot.id, close=True).pack(),
        SetCb(action="edit", bot_id=bot.id, idx=0).pack(),
        BotCb(action="preview", bot_id=bot.id).pack(),
        BotCb(action="delete_yes", bot_id=bot.id).pack(),
        AccCb(action="delete_yes", account_id=acc.id).pack(),
        NewBotCb(kind="grid", account_id=acc.id).pack(),
        NewBotCb(kind="grid", account_id=acc.id, symbol="BTC/USDT!USDT").pack(),
    ]:
        await api.click(B, msg, data)
        answer = await api.next_call("answerCallbackQuery")
        assert "does not belong to you" in answer.params.get("text", ""), data
    await api.no_call("sendMessage", chat_id=A)
    await bot.refresh_from_db()
    assert bot.status == BotStatus.RUNNING
    assert await ExchangeAccount.filter(id=acc.id).exists()
    assert await StrategyBot.filter(user__telegram_id=B).count() == 0
    assert telegram.engine.control.calls == []


async def test_settings_of_a_running_bot_cannot_change(telegram):
    api = telegram.api
    user = await _user(A)
    bot = await _grid_bot(user, status=BotStatus.RUNNING)
    await api.click(A, api.bot_message(A), SetCb(action="edit", bot_id=bot.id, idx=_spec_index("levels")).pack())
    answer = await api.next_call("answerCallbackQuery")
    assert "Stop the bot" in answer.params["text"]


async def test_commands_work_in_the_middle_of_a_dialog_and_keep_it(telegram):
    api = telegram.api
    user = await _user(A)
    bot = await _grid_bot(user, status=BotStatus.DRAFT)
    running = await StrategyBot.create(user=user, account_id=bot.account_id, kind=BotKind.GRID, symbol="ETH/USDT:USDT",
                                       settings=bot.settings, status=BotStatus.RUNNING)
    await api.click(A, api.bot_message(A), SetCb(action="edit", bot_id=bot.id, idx=_spec_index("levels")).pack())
    await api.next_call(chat_id=A)
    await api.send_command(A, "/stopall")  # the emergency stop is never read as a setting value
    ask = await api.next_call("sendMessage", chat_id=A)
    assert "Stop all 1 running bot(s)?" in ask.text
    await api.send_message(A, "25")  # and the dialog is still there
    saved = await api.next_call("sendMessage", chat_id=A)
    assert "Levels saved" in saved.text
    assert running.id != bot.id
