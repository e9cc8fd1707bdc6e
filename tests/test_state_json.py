"""A bot's stored state is encoded from its strategy's state once per state: the strategy's states are immutable, so
an unchanged one (most bots at most closes) is not encoded again for each comparison with the row."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from db.enums import BotKind, BotStatus
from engine.runtime.bots import BotHandle
from engine.runtime.hyperrsi_runner import LiveHyperRsi
from engine.runtime.state import RuntimeState
from engine.strategies.hyperrsi_state import HyperRsiState


class Counting(LiveHyperRsi):
    calls = 0

    @staticmethod
    def encode(strat):
        Counting.calls += 1
        return LiveHyperRsi.encode(strat)


def _handle() -> BotHandle:
    return BotHandle(1, 1, 1, BotKind.HYPERRSI, "BTC/USDT", BotStatus.RUNNING, None,
                     SimpleNamespace(state=HyperRsiState()), RuntimeState(candle=5), Counting, None, None, None, "x")


def test_an_unchanged_strategy_state_is_encoded_once():
    Counting.calls = 0
    h = _handle()
    first = h.state_json()
    assert h.state_json() == first == {"candle": 5, "strategy": LiveHyperRsi.encode(HyperRsiState())}
    assert Counting.calls == 1


def test_a_new_strategy_state_or_runtime_field_is_seen_at_once():
    Counting.calls = 0
    h = _handle()
    before = h.state_json()
    h.strat = replace(h.strat, side="long", size=2.0)
    after = h.state_json()
    assert after["strategy"]["size"] == 2.0 and after["strategy"]["side"] == "long"
    assert before["strategy"]["size"] == 0.0  # what was returned before is not changed under its holder
    h.rt.candle = 6
    assert h.state_json()["candle"] == 6
    assert Counting.calls == 2
