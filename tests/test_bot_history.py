"""A bot's settings history in English and Korean through the Bot API stand-in: each change with who, when (UTC) and
the diff in the user's words, newest first; "roll back to this version" after a confirmation restores the settings
as they were after that change, recorded as a change itself; a running bot's rollback follows the live rules."""

from __future__ import annotations

import re

import pytest

from bot.callbacks import BotCb, SetCb
from bot.routers.bot_history import HistCb
from bot.settings_editor import defaults, specs
from db.enums import BotKind, BotStatus, MarketType, PositionSide
from db.models import AuditLog, ExchangeAccount, Position, StrategyBot, User

U, OTHER = 1601, 1602
WORDS = {
    "en": {"title": "Settings history", "you": "you", "tp1": "TP1 distance", "lev": "Leverage",
           "confirm": "Roll back to this version", "rolled": "rolled back to the version of", "running": "while running",
           "needs_stop": "Stop the bot to change", "saved": "saved", "same": "nothing to roll back"},
    "ko": {"title": "설정 변경 이력", "you": "나", "tp1": "TP1 거리", "lev": "레버리지", "confirm": "이 버전으로 되돌리기",
           "rolled": "버전으로 되돌림", "running": "(실행 중)", "needs_stop": "봇을 중지해야 바꿀 수 있습니다", "saved": "저장했습니다",
           "same": "되돌릴 것이 없습니다"},
}
STAMP = re.compile(r"^\d\. \d{4}-\d\d-\d\d \d\d:\d\d UTC · ")


def _idx(name: str) -> int:
    return list(specs(BotKind.HYPERRSI)).index(name)


async def _type(api, message, bot_id: int, name: str, value: str):
    """Settings → the setting → a typed value; the editor that answers."""
    await api.click(U, message, BotCb(action="settings", bot_id=bot_id).pack())
    editor = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, editor, SetCb(action="edit", bot_id=bot_id, idx=_idx(name)).pack())
    await api.next_call("editMessageText", chat_id=U)
    await api.send_message(U, value)
    return await api.next_call("sendMessage", chat_id=U)


async def _history(api, message, bot_id: int):
    await api.click(U, message, BotCb(action="history", bot_id=bot_id).pack())
    return await api.next_call("editMessageText", chat_id=U)


async def _changes(bot_id: int) -> list[AuditLog]:
    return list(await AuditLog.filter(object_id=str(bot_id), action__in=["bot.setting", "bot.rollback"])
                .order_by("id"))


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_history_shows_who_when_and_the_diff_and_rollback_restores_a_version(telegram, lang):
    api, words = telegram.api, WORDS[lang]
    await telegram.accept_user(U, language=lang)
    user = await User.get(telegram_id=U)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True, paper_balances={"USDT": "10000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings=defaults(BotKind.HYPERRSI))
    await api.send_command(U, "/bots")
    listing = await api.next_call("sendMessage", chat_id=U)
    await api.click(U, listing, BotCb(action="card", bot_id=bot.id).pack())
    card = await api.next_call("editMessageText", chat_id=U)
    assert BotCb(action="history", bot_id=bot.id).pack() in [d for _t, d in card.buttons()]

    editor = await _type(api, card, bot.id, "tp1_value", "2.5")
    assert words["saved"] in editor.text
    editor = await _type(api, editor, bot.id, "leverage", "5")
    first, second = await _changes(bot.id)
    assert first.details["changes"] == {"tp1_value": [2.0, 2.5]} and second.details["changes"] == {"leverage": [10, 5]}

    history = await _history(api, editor, bot.id)
    lines = history.text.splitlines()
    assert words["title"] in lines[0]
    entries = [i for i, line in enumerate(lines) if STAMP.match(line)]
    assert len(entries) == 2 and all(words["you"] in lines[i] for i in entries)
    assert f"{words['lev']}: 10 → 5" in lines[entries[0] + 1]  # newest first
    assert f"{words['tp1']}: 2 → 2.5" in lines[entries[1] + 1]
    ask = HistCb(action="ask", bot_id=bot.id, change=first.id).pack()
    assert ask in [d for _t, d in history.buttons()]

    # roll back to the version after the first change: the leverage goes back, TP1 stays
    await api.click(U, history, ask)
    confirm = await api.next_call("editMessageText", chat_id=U)
    assert f"{words['lev']}: 5 → 10" in confirm.text and words["tp1"] not in confirm.text.split("\n", 1)[1]
    await api.click(U, confirm, confirm.button_data(words["confirm"]))
    history = await api.next_call("editMessageText", chat_id=U)
    assert (await StrategyBot.get(id=bot.id)).settings == first.details["after"]
    rolled = (await _changes(bot.id))[-1]
    assert rolled.action == "bot.rollback" and rolled.details["changes"] == {"leverage": [5, 10]}
    assert rolled.details["to"] == first.id and rolled.actor_telegram_id == U
    newest = next(line for line in history.text.splitlines() if STAMP.match(line))
    assert newest.startswith("1. ") and words["rolled"] in newest, newest
    assert ask not in [d for _t, d in history.buttons()]  # that version is the one in use now
    await api.click(U, history, ask)  # an older message's button says so
    await api.next_call("answerCallbackQuery", text_contains=words["same"])

    # running with a position: the leverage waits for a stop; TP1 changes live and rolls back live
    await StrategyBot.filter(id=bot.id).update(status=BotStatus.RUNNING)
    await Position.create(bot=bot, symbol=bot.symbol, side=PositionSide.LONG, size=1, average_entry=100)
    await api.click(U, history, HistCb(action="ask", bot_id=bot.id, change=second.id).pack())
    confirm = await api.next_call("editMessageText", chat_id=U)
    assert words["needs_stop"] in confirm.text and words["lev"] in confirm.text
    assert not any(words["confirm"] in t for t, _d in confirm.buttons())
    editor = await _type(api, confirm, bot.id, "tp1_value", "2.8")
    live = (await _changes(bot.id))[-1]
    assert live.details["changes"] == {"tp1_value": [2.5, 2.8]} and live.details["live"]
    history = await _history(api, editor, bot.id)
    assert words["running"] in next(line for line in history.text.splitlines() if STAMP.match(line))
    await api.click(U, history, HistCb(action="ask", bot_id=bot.id, change=rolled.id).pack())
    confirm = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, confirm, confirm.button_data(words["confirm"]))
    await api.next_call("editMessageText", chat_id=U)
    assert (await StrategyBot.get(id=bot.id)).settings == rolled.details["after"]
    last = (await _changes(bot.id))[-1]
    assert last.action == "bot.rollback" and last.details["changes"] == {"tp1_value": [2.8, 2.5]}
    assert last.details["live"]
    assert telegram.engine.control.calls[-1][:3] == ("update_settings", user.id, bot.id)


async def test_a_change_of_another_bot_cannot_be_shown_or_rolled_back(telegram):
    api = telegram.api
    await telegram.accept_user(U)
    await telegram.accept_user(OTHER)
    bots = []
    for tid in (U, OTHER):
        user = await User.get(telegram_id=tid)
        acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                           is_paper=True, paper_balances={"USDT": "10000"})
        bots.append(await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                             settings=defaults(BotKind.HYPERRSI)))
    mine, theirs = bots
    theirs_user = await User.get(telegram_id=OTHER)
    await telegram.engine.control.update_settings(theirs_user.id, theirs.id, {"leverage": 3})
    change = await AuditLog.get(object_id=str(theirs.id), action="bot.setting")
    message = api.bot_message(U)
    for action in ("ask", "do"):  # their change under my bot's id, or under theirs: refused alike
        for bot_id in (mine.id, theirs.id):
            await api.click(U, message, HistCb(action=action, bot_id=bot_id, change=change.id).pack())
            await api.next_call("answerCallbackQuery", text_contains="no longer valid")
    await api.no_call("editMessageText", chat_id=U)
    assert (await StrategyBot.get(id=mine.id)).settings == defaults(BotKind.HYPERRSI)
    assert (await StrategyBot.get(id=theirs.id)).settings["leverage"] == 3
