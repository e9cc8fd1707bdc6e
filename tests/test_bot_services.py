"""The chat's services on their own (no Telegram): each change commits with its audit row or not at all, and
deleting an account stops its bots and has the engine forget it only once the deletion is stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services import accounts, audit, bots, users
from bot.settings_editor import defaults, problems
from db.enums import BotKind, BotStatus, MarketType
from db.models import AuditLog, ExchangeAccount, StrategyBot, User
from tests.fakes.telegram_fixtures import FakeEngine


async def _bot(status: BotStatus = BotStatus.DRAFT) -> tuple[User, ExchangeAccount, StrategyBot]:
    user = await User.create(telegram_id=4401, language="en", risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "1000"})
    b = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                 settings=defaults(BotKind.GRID), status=status)
    return user, acc, b


@pytest.fixture
def failing_audit(monkeypatch):
    async def refuse(*args, **kwargs):
        raise RuntimeError("the audit row could not be written")

    monkeypatch.setattr(audit, "record", refuse)


async def test_a_settings_change_and_its_audit_row_commit_together(db):
    user, _acc, b = await _bot()
    before = dict(b.settings)
    await bots.change_settings(b, user, {"levels": 7}, "bot.setting", {"name": "levels"})
    assert (await StrategyBot.get(id=b.id)).settings["levels"] == 7
    row = await AuditLog.get(action="bot.setting", object_id=str(b.id))
    assert row.details == {"name": "levels", "changes": {"levels": [20, 7]}, "before": before,
                           "after": {**before, "levels": 7}}
    assert row.actor_telegram_id == user.telegram_id


async def test_a_settings_change_whose_audit_row_fails_is_not_stored(db, monkeypatch):
    from engine import settings_log

    async def refuse(*args, **kwargs):
        raise RuntimeError("the audit row could not be written")

    monkeypatch.setattr(settings_log, "write_audit", refuse)
    user, _acc, b = await _bot()
    before = (await StrategyBot.get(id=b.id)).settings["levels"]
    with pytest.raises(RuntimeError):
        await bots.change_settings(b, user, {"levels": before + 1}, "bot.setting", {"name": "levels"})
    assert (await StrategyBot.get(id=b.id)).settings["levels"] == before


async def test_an_account_deletion_whose_audit_row_fails_keeps_the_account_and_its_gateway(db, failing_audit):
    user, acc, b = await _bot(BotStatus.RUNNING)
    engine = FakeEngine()
    with pytest.raises(RuntimeError):
        await accounts.delete(user, acc, engine)
    assert await ExchangeAccount.filter(id=acc.id).exists() and await StrategyBot.filter(id=b.id).exists()
    assert engine.control.calls == [("stop_bot", user.id, b.id, False)]  # stopped first; never forgotten


async def test_risk_acceptance_is_audited_once(db):
    user = await User.create(telegram_id=4402, language="en")
    await users.accept_risk(user)
    await users.accept_risk(user)
    assert (await User.get(id=user.id)).risk_accepted_at is not None
    assert await AuditLog.filter(action="risk_accepted", user_id=user.id).count() == 1


def test_settings_problems_are_known_by_their_code_in_every_language():
    from aiogram.utils.i18n import I18n

    from bot.i18n import make_i18n

    i18n = make_i18n("en")
    bad = {**defaults(BotKind.GRID), "lower_price": 200.0, "upper_price": 100.0}
    with i18n.context(), i18n.use_locale("ko"):
        assert problems(BotKind.GRID, bad) == [I18n.get_current().gettext("problem.grid_range")]
        assert "lower_price" not in problems(BotKind.GRID, bad)[0]  # the Korean text, not the engine's English


async def test_the_fake_and_the_real_engine_fit_the_chats_engine_port():
    from bot.engine_port import ControlPort, EnginePort
    from engine.market.clock import ManualClock
    from engine.runtime.engine import Engine

    for engine in (FakeEngine(), Engine(clock=ManualClock(1_700_000_000_000))):
        assert isinstance(engine, EnginePort) and isinstance(engine.control, ControlPort), type(engine)
