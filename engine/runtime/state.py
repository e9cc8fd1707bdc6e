"""The runtime's own part of a bot's state (trade cursor, last candle, start time…), kept in StrategyBot.state."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DECISIONS = 12  # candles /why can tell about
TREND_NOTICE_MS = 2 * 3_600_000  # a bot's trend-block notices: at most one per 2 h of candles (the original's rule)


@dataclass(slots=True)
class RuntimeState:
    """Each field is stored under its own name at the top level of StrategyBot.state, next to "strategy"; a field
    that is None is not stored (rows written before a field existed load with it None). A field's value is replaced,
    never changed in place (`record`, `amend`): `to_json` shares the lists and dicts, and a save compares it with the
    last one saved."""

    cursor: int | None = None  # the trades cursor of the bot's last poll (`since` of the next one)
    candle: int | None = None  # open time (ms) of the last candle evaluated
    started_ms: int | None = None  # when the bot was last started (identifies its stop notices)
    pending_floor: int | None = None  # the highest order seq before a market order was asked for (HYPERRSI)
    # the market orders a candle asked for, [kind, role, side, amount, reason] each (HYPERRSI): sent again after a crash
    # that came between deciding them and sending them, while that candle is still the latest
    pending_orders: list | None = None
    close_avg: float | None = None  # the average entry when a GRID stopped, for the PnL of its closing fill
    flat_seen: int | None = None  # reconciliations in a row that saw the exchange flat while the bot held
    # a stop waiting for its close to fill: what its notice will say (cancelled, close_position, emergency, card)
    stopping: dict | None = None
    trend_notice_ms: int | None = None  # the candle (open ms) of the last trend-block notice: one per TREND_NOTICE_MS
    # not stored here: the decisions for the chat's /why (engine/strategies/decisions.py records) made since the bot's
    # last write, oldest first, and the rules added since to the last one written (StrategyBot.decisions holds the
    # ring of the last DECISIONS; a write appends to it, db/ring_updates.py)
    new_decisions: list | None = None
    amends: list | None = None

    def record(self, ts: int, decision: dict) -> None:
        """Keep `decision`, made at `ts` (ms: a candle's close, or the start), for the ring of the last DECISIONS."""
        self.new_decisions = [*(self.new_decisions or [])[-(DECISIONS - 1):], {**decision, "ts": ts}]

    def amend(self, code: str, **details: Any) -> None:
        """Add a rule to the last decision: what followed it, e.g. an order the exchange refused (the stored last
        one when it is written already, if there is one)."""
        if self.new_decisions:
            *before, last = self.new_decisions
            self.new_decisions = [*before, {**last, "rules": [*last.get("rules", []), [code, details]]}]
        else:
            self.amends = [*(self.amends or []), [code, details]]

    def unwritten(self) -> tuple[list | None, list | None] | None:
        """(new decisions, rules for the stored last one) not written yet; None when there are none."""
        return (self.new_decisions, self.amends) if self.new_decisions or self.amends else None

    def written(self, new: list | None, amends: list | None) -> None:
        """`new` and `amends` (what `unwritten` gave) are stored: what was added since stays for the next write."""
        if new:
            now = self.new_decisions or []  # records are appended (a copy of the list): the written ones end at new[-1]
            self.new_decisions = next((now[i + 1:] for i in range(len(now) - 1, -1, -1) if now[i] is new[-1]),
                                      None) or None
        if amends:
            self.amends = (self.amends or [])[len(amends):] or None  # amends are only appended

    @classmethod
    def from_json(cls, state: dict[str, Any] | None) -> RuntimeState:
        state = state or {}
        return cls(**{k: state[k] for k in _KEYS if k in state})

    def to_json(self) -> dict[str, Any]:
        return {k: v for k in _KEYS if (v := getattr(self, k)) is not None}


_KEYS = tuple(f.name for f in fields(RuntimeState) if f.name not in ("new_decisions", "amends"))
