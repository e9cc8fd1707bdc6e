"""A bot's ring of decisions (for /why) lives in its own column and each write carries only what is new: the state
a market job reads and compares stays small, where it used to grow by a record each close up to the ring's twelve
(measured: on 2 workers a quiet close cost 287 µs a bot with a ring of one, 368 µs with five, bench/README.md)."""

from __future__ import annotations

from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from engine.runtime.state import DECISIONS, RuntimeState
from tests.runtime_kit import HYPERRSI_SETTINGS, replay_engine

TF = 300_000
QUIET = {**HYPERRSI_SETTINGS, "rsi_oversold": 1, "rsi_overbought": 99}  # never a signal: every close is quiet


def _rec(ts: int, *rules: list) -> dict:
    return {"ts": ts, "close": 1.0, "sig": {}, "rules": list(rules), "orders": []}


async def test_closes_keep_the_last_twelve_decisions_in_their_own_column_not_in_the_state(db, shared_data):
    engine, clock, start = await replay_engine(shared_data)
    user = await User.create(telegram_id=7300)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True, paper_balances={"USDT": "100000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings=QUIET, status=BotStatus.DRAFT)
    await engine.control.start_bot(user.id, bot.id)
    first = start - start % TF + 2 * TF
    closes = [first + i * TF for i in range(DECISIONS + 3)]
    for close in closes:
        clock.set(close + 2_000)
        await engine.tick()
    row = await StrategyBot.get(id=bot.id)
    assert "decisions" not in row.state, sorted(row.state)
    assert [r["ts"] for r in row.decisions] == closes[-DECISIONS:]  # oldest first, each at its candle's close
    assert {r["rules"][0][0] for r in row.decisions} == {"no_signal"}
    h = engine.handles[bot.id]
    assert h.last_state == row.state and not h.rt.unwritten()  # memory and row agree: nothing left to write
    await engine.shutdown()


async def test_a_write_appends_the_new_records_and_amends_the_stored_last_one(db):
    from db.ring_updates import ring, write_states

    user = await User.create(telegram_id=7301)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True)
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings=QUIET, state={"candle": 1}, status=BotStatus.RUNNING)
    rt = RuntimeState(candle=2)
    rt.amend("order_refused", role="entry")  # nothing recorded here: for the stored last one, and none is stored
    await write_states([(bot.id, None, *rt.unwritten())], DECISIONS)
    rt.written(*rt.unwritten())
    assert not rt.unwritten() and (await StrategyBot.get(id=bot.id)).decisions is None
    for ts in range(1, DECISIONS + 2):
        rt.record(ts, _rec(0, ["no_signal", {}]))
    new, amends = rt.unwritten()
    assert [r["ts"] for r in new] == list(range(2, DECISIONS + 2)) and amends is None  # the ring's length at most
    await write_states([(bot.id, rt.to_json(), new, amends)], DECISIONS)
    rt.written(new, amends)
    assert not rt.unwritten()
    rt.amend("order_refused", role="entry")  # the last record is stored: the amend goes to the stored one
    rt.record(100, _rec(0, ["entry", {}]))
    rt.amend("order_refused", role="entry")  # the new record is not: amended in memory
    new, amends = rt.unwritten()
    assert amends == [["order_refused", {"role": "entry"}]] and len(new) == 1
    await write_states([(bot.id, None, new, amends)], DECISIONS)
    row = await StrategyBot.get(id=bot.id)
    assert row.state == {"candle": 2}  # None: the state as it is
    assert [r["ts"] for r in row.decisions] == [*range(3, DECISIONS + 2), 100]
    assert row.decisions[-2]["rules"] == [["no_signal", {}], ["order_refused", {"role": "entry"}]]
    assert row.decisions[-1]["rules"] == [["entry", {}], ["order_refused", {"role": "entry"}]]
    assert ring(row.decisions, [_rec(101)], [["x", {}]], DECISIONS)[-2]["rules"][-1] == ["x", {}]
    await write_states([(bot.id, {"candle": 3}, None, [["late", {}]])], DECISIONS)  # an amend alone
    row = await StrategyBot.get(id=bot.id)
    assert row.state == {"candle": 3} and row.decisions[-1]["rules"][-1] == ["late", {}]
    assert len(row.decisions) == DECISIONS


def test_the_ring_in_python_is_the_rule_the_database_follows():
    from db.ring_updates import ring

    assert ring(None, None, [["x", {}]], 3) is None  # nothing stored, nothing new: nothing to amend
    assert ring(None, [_rec(1)], None, 3) == [_rec(1)]
    assert ring([_rec(1), _rec(2)], [_rec(3), _rec(4)], [["a", {}]], 3) == [_rec(2, ["a", {}]), _rec(3), _rec(4)]


async def test_an_entry_the_venue_refuses_is_told_on_the_stored_decision_that_asked_for_it(db, shared_data):
    """The close's decision is committed with the bot's state before its order is sent; the venue's refusal then
    adds its rule to that stored record (the write carries the rule, not the ring), and /why shows it."""
    engine, clock, start = await replay_engine(shared_data)
    user = await User.create(telegram_id=7302)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper",
                                       is_paper=True, paper_balances={"USDT": "1"})  # too little for its margin
    enter = {**HYPERRSI_SETTINGS, "rsi_oversold": 98, "rsi_overbought": 99, "entry_option": "rsi_only"}
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings=enter, status=BotStatus.DRAFT)
    await engine.control.start_bot(user.id, bot.id)
    close = start - start % TF + 2 * TF
    clock.set(close + 2_000)
    await engine.tick()
    row = await StrategyBot.get(id=bot.id)
    assert len(row.decisions) == 1 and row.decisions[-1]["ts"] == close
    assert row.decisions[-1]["rules"] == [["entry", row.decisions[-1]["rules"][0][1]], ["order_refused",
                                                                                      {"role": "entry"}]]
    assert not engine.handles[bot.id].rt.unwritten()
    await engine.shutdown()
