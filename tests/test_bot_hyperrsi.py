"""A Korean user builds a HYPERRSI bot: symbol chosen by button, the quick setup, then the generated editor in Korean
(only the settings that apply), a preset, a choice, a toggle, a typed value, then the risk card and start — all
through real polling."""

from __future__ import annotations

from db.enums import BotKind, BotStatus
from db.models import ExchangeAccount, StrategyBot
from engine.strategies.hyperrsi_settings import PRESETS, HyperRsiSettings
from tests.fakes.telegram_fixtures import FakeEngine

U = 1301


async def test_korean_hyperrsi_bot_with_preset_and_start(telegram_factory):
    telegram = await telegram_factory(engine=FakeEngine(prices={"ETH/USDT:USDT": 3_000.0}))
    api = telegram.api
    await telegram.accept_user(U, language="ko")
    await api.send_command(U, "/start")
    menu = await api.next_call("sendMessage", chat_id=U)
    assert "메인 메뉴" in menu.text
    await api.click(U, menu, menu.button_data("계정"))
    accounts = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, accounts, accounts.button_data("모의 계정"))
    market = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, market, market.button_data("무기한 선물"))
    balance = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, balance, balance.button_data("10,000"))
    added = await api.next_call("sendMessage", chat_id=U)
    assert "모의 계정 paper-swap" in added.text
    acc = await ExchangeAccount.get(user__telegram_id=U)

    await api.click(U, added, "menu:hyperrsi")
    listing = await api.next_call("editMessageText", chat_id=U)
    assert "HYPERRSI" in listing.text and "아직 봇이 없습니다" in listing.text
    await api.click(U, listing, listing.button_data("새 봇"))
    pick = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, pick, pick.button_data(acc.label))
    symbols = await api.next_call("editMessageText", chat_id=U)
    assert [t for t, _ in symbols.buttons()][:2] == ["BTC/USDT 무기한", "ETH/USDT 무기한"]
    await api.click(U, symbols, symbols.button_data("ETH/USDT 무기한"))
    quick = await api.next_call("sendMessage", chat_id=U)
    assert "봇을 초안으로 만들었습니다" in quick.text and "빠른 설정" in quick.text
    await api.click(U, quick, quick.button_data("고급 설정"))
    editor = await api.next_call("editMessageText", chat_id=U)
    # a new bot starts conservative: 3x with a stop-loss
    assert "[피라미딩]" in editor.text and "레버리지: 3" in editor.text and "손절: 켜짐" in editor.text
    bot = await StrategyBot.get(user__telegram_id=U)
    shown = HyperRsiSettings.applicable(bot.settings)  # one button per setting that applies, presets, done
    assert len(editor.buttons()) == len(shown) + 2 and len(shown) < len(HyperRsiSettings.model_fields)

    await api.click(U, editor, editor.button_data("프리셋"))
    presets = await api.next_call("editMessageText", chat_id=U)
    assert len(presets.buttons()) == len(PRESETS) + 1
    await api.click(U, presets, presets.button_data("공격적"))
    editor = await api.next_call("editMessageText", chat_id=U)
    assert "레버리지: 20" in editor.text and "최대 추가 횟수: 5" in editor.text

    await api.click(U, editor, editor.button_data("RSI 신호"))
    choices = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, choices, choices.button_data("cross_back"))
    editor = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, editor, editor.button_data("트레일링 스탑"))  # a toggle
    editor = await api.next_call("editMessageText", chat_id=U)
    await api.click(U, editor, editor.button_data("RSI 과매도"))
    prompt = await api.next_call("editMessageText", chat_id=U)
    assert "허용 범위: 1 ~ 99" in prompt.text
    await api.send_message(U, "25.5")
    editor = await api.next_call("sendMessage", chat_id=U)
    await bot.refresh_from_db()
    s = HyperRsiSettings(**bot.settings)  # what the editor saved is a valid settings model
    assert (s.leverage, s.use_sl, s.rsi_entry_option, s.trailing_stop_active, s.rsi_oversold) == \
        (20, True, "cross_back", True, 25.5)
    assert bot.kind == BotKind.HYPERRSI and bot.symbol == "ETH/USDT:USDT"

    await api.click(U, editor, editor.button_data("완료"))
    card = await api.next_call("editMessageText", chat_id=U)
    assert "상태: 초안" in card.text
    await api.click(U, card, card.button_data("미리보기"))  # no start without the risk card
    risk = await api.next_call("editMessageText", chat_id=U)
    assert "시작하기 전에" in risk.text and "20배 청산가" in risk.text, risk.text
    await api.click(U, risk, risk.button_data("시작"))
    card = await api.next_call("editMessageText", chat_id=U)
    assert "상태: 실행 중" in card.text
    await bot.refresh_from_db()
    assert bot.status == BotStatus.RUNNING


async def test_hyperrsi_is_offered_swap_accounts_only(telegram):
    u = 1302
    api = telegram.api
    await telegram.accept_user(u)
    await api.send_command(u, "/start")
    menu = await api.next_call("sendMessage", chat_id=u)
    await api.click(u, menu, menu.button_data("Accounts"))
    accounts = await api.next_call("editMessageText", chat_id=u)
    balance = await telegram.paper_balance_prompt(u, accounts, "Spot")
    await api.click(u, balance, balance.button_data("10,000"))
    added = await api.next_call("sendMessage", chat_id=u)
    spot = await ExchangeAccount.get(user__telegram_id=u)

    await api.click(u, added, "menu:hyperrsi")
    listing = await api.next_call("editMessageText", chat_id=u)
    await api.click(u, listing, listing.button_data("New bot"))
    pick = await api.next_call("editMessageText", chat_id=u)
    assert "perpetual" in pick.text and not any(spot.label in t for t, _ in pick.buttons())
    # a crafted button naming the spot account is refused, and no bot is made
    await api.click(u, pick, f"nb:hyperrsi:{spot.id}:")
    await api.next_call("answerCallbackQuery", text_contains="swap")
    assert not await StrategyBot.filter(user__telegram_id=u).exists()
