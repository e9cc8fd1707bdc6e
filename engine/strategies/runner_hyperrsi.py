"""HYPERRSI as a StrategyRunner: the pure steps of engine.strategies.hyperrsi behind the runner protocol."""

from __future__ import annotations

import math
from dataclasses import replace

from engine.strategies import hyperrsi as hr
from engine.strategies.intents import Intent, IntentKind, StandingOrder
from engine.strategies.roles import MARKET, OrderRole
from engine.strategies.runner import Fill, Holding, Step


class HyperRsiRunner:
    """One HYPERRSI bot: its settings and its state (`.state`, replaced by every step)."""

    __slots__ = ("settings", "state")

    def __init__(self, settings: hr.HyperRsiSettings, state: hr.HyperRsiState | None = None):
        self.settings = settings
        self.state = state if state is not None else hr.HyperRsiState()

    def on_candle(self, inputs: hr.CandleInputs, paused: bool = False) -> Step:
        """One closed candle. Paused: no entry while flat and no pyramiding add (the position keeps its
        protection, trailing and the trend-reversal close)."""
        old = self.state
        if paused and old.side == "flat" and not old.pending:
            self.state = replace(old, atr=inputs.atr if not math.isnan(inputs.atr) else old.atr)
            return Step()
        res = hr.on_candle(self.settings, old, inputs)
        state, intents = res.state, list(res.intents)
        if paused and any(i.kind == IntentKind.ADD for i in intents):
            intents = [i for i in intents if i.kind != IntentKind.ADD]
            state = replace(state, pending="")
        self.state = state
        return Step(intents, list(res.notes))

    def on_fill(self, fill: Fill) -> Step:
        """A fill of one of the bot's orders; a liquidation is a forced exit of the whole position (a stop)."""
        role = OrderRole.STOP_LOSS if fill.forced else fill.role
        ev = hr.FillEvent(role, fill.price, fill.amount, fill.fee, fill.level, fill.index, fill.side)
        res = hr.on_fill(self.settings, self.state, ev)
        self.state = res.state
        return Step(list(res.intents), list(res.notes))

    def on_refused(self, role: OrderRole, level: int = 0, index: int = 0) -> Step:
        """A market order was refused: no longer pending (resting orders are simply wanted again)."""
        if role in MARKET:
            self.state = hr.on_order_failed(self.settings, self.state, role, index)
        return Step()

    def desired_orders(self) -> list[StandingOrder]:
        return hr.desired_orders(self.settings, self.state)

    def close(self, close_position: bool, reason: str = "user_stop") -> Step:
        """The bot stops: a reduce-only market close of the whole position if asked (pending until it fills)."""
        s = self.state
        if not close_position or s.size <= 0:
            return Step()
        side = "sell" if s.side == "long" else "buy"
        self.state = replace(s, pending="close")
        return Step([Intent(IntentKind.CLOSE, side, reason, amount=s.size, reduce_only=True, role=OrderRole.CLOSE)])

    def holds(self) -> Holding:
        s = self.state
        return Holding(s.side if s.size > 0 else "flat", s.size, s.average)

    def leftover(self, lot: float) -> str:
        """What the next candle must clear ("dust", "remainder" or ""): `hyperrsi.leftover`."""
        return hr.leftover(self.settings, self.state, lot)
