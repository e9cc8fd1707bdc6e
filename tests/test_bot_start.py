"""/start, language, risk notice, main menu and the command menu, through real polling against the stand-in."""

from __future__ import annotations

from db.models import User


async def test_start_language_risk_menu(telegram):
    api = telegram.api
    await api.send_command(111, "/start")
    choose = await api.next_call("sendMessage", chat_id=111)
    assert [t for t, _ in choose.buttons()] == ["English", "한국어"]
    await api.click(111, choose, choose.button_data("한국어"))
    risk = await api.next_call("editMessageText", chat_id=111)
    assert "위험" in risk.text
    user = await User.get(telegram_id=111)
    assert user.language == "ko" and user.risk_accepted_at is None
    await api.click(111, risk, risk.button_data("동의합니다"))
    menu = await api.next_call("editMessageText", chat_id=111)
    assert "메인 메뉴" in menu.text
    assert any("계정" in t for t, _ in menu.buttons())
    assert (await User.get(telegram_id=111)).risk_accepted_at is not None


async def test_commands_set_in_both_languages(telegram):
    for lang in ("", "en", "ko"):
        cmds = telegram.api.commands[("default", lang)]
        assert {c["command"] for c in cmds} >= {"start", "status", "stopall", "cancel"}
    assert telegram.api.commands[("default", "ko")][1]["description"] == "내 봇과 손익"


async def test_features_need_accepted_risk(telegram):
    api = telegram.api
    await api.send_command(222, "/status")
    reply = await api.next_call("sendMessage", chat_id=222)
    assert "/start" in reply.text
