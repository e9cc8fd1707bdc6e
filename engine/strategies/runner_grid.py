"""GRID as a StrategyRunner: the pure steps of engine.strategies.grid behind the runner protocol."""

from __future__ import annotations

from engine.strategies import grid as gr
from engine.strategies.intents import Note, StandingOrder
from engine.strategies.roles import OrderRole
from engine.strategies.runner import Fill, Holding, Step


def _step(state: gr.GridState, intents) -> Step:
    return Step(list(intents), [Note(reason, details) for reason, details in state.notes])


class GridRunner:
    """One GRID bot: its settings, the market's rules and its state (`.state`: None until `start`)."""

    __slots__ = ("neutral", "rules", "settings", "state")

    def __init__(self, settings: gr.GridSettings, rules: gr.MarketRules, state: gr.GridState | None = None):
        self.settings, self.rules, self.state = settings, rules, state
        self.neutral = settings.direction == "neutral"

    def start(self, price: float, inputs: gr.GridCandle | None = None) -> Step:
        """Plan the ladder and arm the first entries at `price` (PlanRefused, with its numbers, when it cannot)."""
        c = inputs or gr.GridCandle(0, price, price, price)
        self.state, intents = gr.start(self.settings, self.rules, price, c.centre, c.atr, c.adx_state, c.index)
        return _step(self.state, intents)

    def on_candle(self, inputs: gr.GridCandle, paused: bool = False) -> Step:
        """One closed candle: bounds, trailing, re-centring, the ADX gate, arming. Paused or stopped: nothing."""
        if self.state is None or paused or self.state.stopped:
            return Step()
        self.state, intents = gr.on_candle(self.settings, self.state, inputs, self.rules)
        return _step(self.state, intents)

    def on_fill(self, fill: Fill) -> Step:
        """A level's entry or exit, the stopped grid's close (booked against the average it had when it stopped),
        or a liquidation (the grid stops, its position closed at the fill's price). IllegalTransition or KeyError
        for a fill no level can take."""
        if fill.forced:
            self.state = gr.stop(self.settings, self.state, False, "liquidation")[0]
        if fill.forced or fill.role == OrderRole.CLOSE:
            self.state = gr.on_close_fill(self.state, fill.price, fill.amount, fill.fee)
            return Step()
        self.state, intents = gr.on_fill(self.settings, self.state, fill.level, fill.role, fill.price, fill.amount,
                                         fill.fee, self.rules, side=fill.side)
        return _step(self.state, intents)

    def on_refused(self, role: OrderRole, level: int = 0, index: int = 0) -> Step:
        """A refused entry goes back to idle, to be armed again; a refused exit stays wanted (it is retried)."""
        if role == OrderRole.GRID_ENTRY and self.state is not None:
            self.state = gr.mark_failed(self.state, level)
        return Step()

    def desired_orders(self, levels: tuple[gr.Level, ...] | None = None) -> list[StandingOrder]:
        """The resting orders of every level (or of `levels` only); none once stopped."""
        if self.state is None or (levels is None and self.state.stopped):
            return []
        return gr.level_orders(self.state.levels if levels is None else levels, self.neutral)

    def close(self, close_position: bool, reason: str = "user_stop") -> Step:
        """Cancel every level's order and, if asked, close the position at market."""
        if self.state is None:
            return Step()
        self.state, intents = gr.stop(self.settings, self.state, close_position, reason)
        return _step(self.state, intents)

    def holds(self) -> Holding:
        s = self.state
        if s is None or not s.position:
            return Holding("flat", 0.0, 0.0 if s is None else self._average())
        return Holding("long" if s.position > 0 else "short", abs(s.position), self._average())

    def _average(self) -> float:
        s = self.state
        return s.close_average if s.stopped else gr.average_entry(s)

