"""Editing a running bot, in English and Korean through the Bot API stand-in: the real Engine on replayed candles,
a HYPERRSI position with its take-profits and stop resting at the paper exchange. A live edit of TP1 re-prices that
one order once (one cancel, one create), a stop-loss edit moves the stop once, what would change the position is
refused with words, and each change is recorded with who and the diff."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.callbacks import BotCb, SetCb
from bot.settings_editor import defaults, specs
from db.enums import BotKind, BotStatus, MarketType, OrderRole, OrderStatus, PositionSide
from db.models import AuditLog, ExchangeAccount, Order, Position, StrategyBot, User
from engine.exchange.paper import PaperExchange
from engine.market.clock import ManualClock
from engine.runtime.control import LiveEditRefused
from engine.runtime.engine import Engine
from engine.strategies import live_settings
from engine.strategies.grid_settings import GridSettings
from engine.strategies.hyperrsi_settings import HyperRsiSettings
from tests.runtime_kit import HYPERRSI_SETTINGS, day_start

U = 1501
TP, SL = OrderRole.TAKE_PROFIT.value, OrderRole.STOP_LOSS.value
WORDS = {
    "en": {"live": "a change applies from the next candle", "needs_stop": "Stop the bot to change",
           "saved": "TP1 distance saved", "leverage": "Leverage", "direction": "Direction"},
    "ko": {"live": "다음 캔들부터 적용", "needs_stop": "봇을 중지해야 바꿀 수 있는 설정", "saved": "TP1 거리 저장했습니다",
           "leverage": "레버리지", "direction": "방향", "refused": "봇을 중지해야 바꿀 수 있습니다"},
}
WORDS["en"]["refused"] = WORDS["en"]["needs_stop"]


def _idx(name: str) -> int:
    return list(specs(BotKind.HYPERRSI)).index(name)


def test_every_setting_is_live_safe_live_when_flat_or_waits_for_a_stop():
    for kind, model in (("hyperrsi", HyperRsiSettings), ("grid", GridSettings)):
        fields = set(model.model_fields)
        assert live_settings.LIVE[kind] <= fields and live_settings.WHEN_FLAT[kind] <= fields
        assert not live_settings.LIVE[kind] & live_settings.WHEN_FLAT[kind]
        assert {"direction", "timeframe"} <= fields - live_settings.allowed(kind, flat=True)
    assert live_settings.needs_stop("hyperrsi", ["tp1_value", "leverage", "direction"], flat=False) == \
        ["leverage", "direction"]
    assert live_settings.needs_stop("hyperrsi", ["tp1_value", "leverage", "direction"], flat=True) == ["direction"]
    assert live_settings.needs_stop("grid", ["tp_min_pct", "stop_loss_price", "levels", "investment"],
                                    flat=True) == ["levels", "investment"]


def test_a_live_edit_moves_what_the_state_holds_and_nothing_else():
    """HYPERRSI's stop-loss (not a break-even stop) and GRID's resting take-profits follow the new settings."""
    from dataclasses import replace

    from engine.strategies.grid import on_fill
    from engine.strategies.grid_ladder import MarketRules
    from engine.strategies.grid_levels import ENTRY_PLACED, EXIT_PLACED, Level
    from engine.strategies.grid_state import GridState
    from engine.strategies.hyperrsi_state import HyperRsiState
    from engine.strategies.roles import OrderRole as Role

    old = HyperRsiSettings(use_sl=True, sl_value=2.0)
    held = HyperRsiState(side="long", size=1.0, average=100.0, stop=98.0, stop_reason="sl")
    assert live_settings.restate("hyperrsi", old, old.model_copy(update={"sl_value": 3.0}), held).stop == \
        pytest.approx(97.0)
    assert live_settings.restate("hyperrsi", old, old.model_copy(update={"use_sl": False}), held).stop is None
    even = replace(held, stop=100.0, stop_reason="break_even_tp1")
    assert live_settings.restate("hyperrsi", old, old.model_copy(update={"sl_value": 3.0}), even) == even
    assert live_settings.restate("hyperrsi", old, old.model_copy(update={"tp1_value": 2.5}), held) == held

    rules = MarketRules(price_step=0.01, amount_step=0.0001, min_amount=0.0001, min_cost=5)
    grid = GridSettings(lower_price=90.0, upper_price=110.0, levels=11, investment=1100.0, fee_rate=0.1)
    state = GridState(levels=(Level(0, 98.0), Level(1, 100.0, ENTRY_PLACED, "buy", 1.0, order_price=100.0, seq=1),
                              Level(2, 100.2)))
    state, _ = on_fill(grid, state, 1, Role.GRID_ENTRY, 100.0, 1.0, 0.0, rules)
    assert (state.levels[1].state, state.levels[1].order_price) == (EXIT_PLACED, pytest.approx(100.4))
    wider = grid.model_copy(update={"tp_min_pct": 0.6})
    moved = live_settings.restate("grid", grid, wider, state, rules)
    assert moved.levels[1].order_price == pytest.approx(100.6) and moved.levels[1].seq == state.levels[1].seq + 1
    assert moved.levels[0] == state.levels[0] and moved.levels[2] == state.levels[2]
    assert live_settings.restate("grid", grid, grid.model_copy(update={"stop_loss_price": 80.0}), state, rules) \
        is state


class CountingPaper(PaperExchange):
    """The paper exchange, noting the client ids of the orders created and cancelled once `counting` is set."""

    counting = False
    created: list[str]
    cancelled: list[str]

    async def create_order(self, request):
        if self.counting:
            self.created.append(request.client_order_id)
        return await super().create_order(request)

    async def cancel_order(self, symbol, order_id=None, client_order_id=None):
        if self.counting:
            self.cancelled.append(client_order_id)
        return await super().cancel_order(symbol, order_id=order_id, client_order_id=client_order_id)

    def count(self) -> None:
        self.counting, self.created, self.cancelled = True, [], []


async def roles(cids: list[str]) -> list[tuple[str, int | None]]:
    rows = {o.client_order_id: o for o in await Order.filter(client_order_id__in=cids)}
    return sorted((rows[c].role.value, rows[c].level) for c in cids)


async def _drive(engine, clock, start: int, first: int, last: int) -> None:
    for k in range(first, last + 1):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()


async def _resting(bot_id: int) -> dict[tuple[str, int | None], Order]:
    rows = await Order.filter(bot_id=bot_id, status=OrderStatus.OPEN)
    return {(o.role.value, o.level): o for o in rows}


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_a_live_tp_edit_reprices_the_resting_order_once(telegram_factory, shared_data, lang):
    start = day_start(shared_data)
    clock, papers = ManualClock(start + 2_000), {}

    def factory(account):
        return papers.setdefault(account.id, CountingPaper(MarketType(account.market_type),
                                                           {"USDT": Decimal(100_000)}))

    engine = Engine(clock=clock, replay_dir=shared_data, exchange_factory=factory)
    await engine.start(schedule=False)
    h = await telegram_factory(engine=engine)
    api, words = h.api, WORDS[lang]
    await h.accept_user(U, language=lang)
    user = await User.get(telegram_id=U)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True, paper_balances={"USDT": "100000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings={**defaults(BotKind.HYPERRSI), **HYPERRSI_SETTINGS},
                                   status=BotStatus.DRAFT)
    await engine.control.start_bot(user.id, bot.id)
    await _drive(engine, clock, start, 0, 40)  # the replayed day's first entry: long, three TPs and a stop rest
    before = await _resting(bot.id)
    assert set(before) == {(TP, 1), (TP, 2), (TP, 3), (SL, 0)}
    pos = await Position.get(bot_id=bot.id)
    assert pos.side == PositionSide.LONG

    await api.send_command(U, "/bots")
    listing = await api.next_call("sendMessage", chat_id=U)
    await api.click(U, listing, BotCb(action="card", bot_id=bot.id).pack())
    card = await api.next_call("editMessageText", chat_id=U)
    settings = BotCb(action="settings", bot_id=bot.id).pack()
    assert settings in [d for _t, d in card.buttons()], "a running bot's card offers its settings"
    await api.click(U, card, settings)
    editor = await api.next_call("editMessageText", chat_id=U)
    assert words["live"] in editor.text, editor.text
    waiting = next(line for line in editor.text.splitlines() if words["needs_stop"] in line)
    assert words["leverage"] in waiting and words["direction"] in waiting, waiting  # a position is open
    offered = [d for _t, d in editor.buttons()]
    assert SetCb(action="edit", bot_id=bot.id, idx=_idx("tp1_value")).pack() in offered
    assert SetCb(action="edit", bot_id=bot.id, idx=_idx("leverage")).pack() not in offered
    assert not any(d.startswith("set:presets") for d in offered)

    # a forged press on a setting that needs a stop is refused in words, and nothing is stored
    await api.click(U, editor, SetCb(action="edit", bot_id=bot.id, idx=_idx("leverage")).pack())
    refused = await api.next_call("answerCallbackQuery", text_contains=words["refused"])
    assert words["leverage"] in refused.params["text"]
    with pytest.raises(LiveEditRefused) as e:
        await engine.control.update_settings(user.id, bot.id, {"leverage": 5, "direction": "long"})
    assert (e.value.reason, e.value.fields) == ("needs_stop", ["direction", "leverage"])
    assert not await AuditLog.filter(action="bot.setting").exists()

    counts = papers[acc.id]
    counts.count()
    await api.click(U, editor, SetCb(action="edit", bot_id=bot.id, idx=_idx("tp1_value")).pack())
    await api.next_call("editMessageText", chat_id=U)
    await api.send_message(U, "0.4")
    saved = await api.next_call("sendMessage", chat_id=U)
    assert words["saved"] in saved.text, saved.text
    await engine.control.update_settings(user.id, bot.id, {"sl_value": 2.5})
    assert not counts.created, "the orders wait for the bot's next supervision, under its lock"

    await _drive(engine, clock, start, 41, 55)  # three candles: re-synced on the first, left alone after
    assert await roles(counts.created) == [(SL, 0), (TP, 1)]
    assert await roles(counts.cancelled) == [(SL, 0), (TP, 1)]
    after = await _resting(bot.id)
    for key in ((TP, 2), (TP, 3)):
        assert after[key].id == before[key].id  # untouched
    step = engine.handles[bot.id].market.price_step
    avg = (await Position.get(bot_id=bot.id)).average_entry
    assert abs(after[(TP, 1)].price - avg * Decimal("1.004")) <= step  # TP1 at 0.4 % from the average
    assert abs(after[(SL, 0)].trigger_price - avg * Decimal("0.975")) <= step  # the stop at 2.5 %
    assert (await StrategyBot.get(id=bot.id)).settings["tp1_value"] == 0.4

    rows = await AuditLog.filter(action="bot.setting", object_id=str(bot.id)).order_by("id")
    assert [r.details["changes"] for r in rows] == [{"tp1_value": [0.3, 0.4]}, {"sl_value": [2.0, 2.5]}]
    assert all(r.actor_telegram_id == U and r.details["live"] for r in rows)
    assert rows[0].details["after"] == {**rows[0].details["before"], "tp1_value": 0.4}
    await h.stop()
    await engine.shutdown()
