"""HYPERRSI settings: the seed's options, defaults and ranges as one validated pydantic model."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from engine.strategies import applies
from engine.strategies.applies import Rule, every, on
from engine.strategies.fields import problem, setting

Timeframe = Literal["1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d"]
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d")


def _s(default, group: str, name: str, **kw):
    return setting(default, label=f"hyperrsi.{name}.label", help=f"hyperrsi.{name}.help", group=group, **kw)


class HyperRsiSettings(BaseModel):
    """Every setting of a HYPERRSI bot. TPs are on by default, as in the live seed (its backtest port had them off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeframe: Timeframe = _s("15m", "entry", "timeframe", choices=TIMEFRAMES)
    direction: Literal["long", "short", "both"] = _s("both", "entry", "direction")
    entry_option: Literal["rsi_only", "rsi_trend"] = _s("rsi_trend", "entry", "entry_option")
    rsi_entry_option: Literal["threshold", "cross", "cross_back", "turn"] = _s("threshold", "rsi", "rsi_entry_option")
    rsi_period: int = _s(14, "rsi", "rsi_period", ge=2, le=100)
    rsi_oversold: float = _s(30.0, "rsi", "rsi_oversold", ge=1, le=99)
    rsi_overbought: float = _s(70.0, "rsi", "rsi_overbought", ge=1, le=99)

    investment: float = _s(100.0, "risk", "investment", gt=0, le=1e9, unit="USDT")
    leverage: int = _s(10, "risk", "leverage", ge=1, le=125)
    cooldown: int = _s(0, "risk", "cooldown", ge=0, le=1000, unit="candles")

    pyramiding_enabled: bool = _s(True, "pyramiding", "pyramiding_enabled")
    pyramiding_limit: int = _s(3, "pyramiding", "pyramiding_limit", ge=0, le=10)
    pyramiding_entry_type: Literal["percent", "price", "atr"] = _s("percent", "pyramiding", "pyramiding_entry_type")
    pyramiding_value: float = _s(3.0, "pyramiding", "pyramiding_value", gt=0, le=1e9)
    entry_criterion: Literal["average", "last"] = _s("average", "pyramiding", "entry_criterion")
    entry_multiplier: float = _s(1.6, "pyramiding", "entry_multiplier", ge=0.1, le=10)
    use_check_dca_with_price: bool = _s(True, "pyramiding", "use_check_dca_with_price")
    use_rsi_with_pyramiding: bool = _s(True, "pyramiding", "use_rsi_with_pyramiding")
    use_trend_logic: bool = _s(True, "pyramiding", "use_trend_logic")

    tp_option: Literal["percentage", "atr", "price"] = _s("percentage", "tp", "tp_option")
    use_tp1: bool = _s(True, "tp", "use_tp1")
    use_tp2: bool = _s(True, "tp", "use_tp2")
    use_tp3: bool = _s(True, "tp", "use_tp3")
    tp1_value: float = _s(2.0, "tp", "tp1_value", gt=0, le=1e9)
    tp2_value: float = _s(3.0, "tp", "tp2_value", gt=0, le=1e9)
    tp3_value: float = _s(4.0, "tp", "tp3_value", gt=0, le=1e9)
    tp1_ratio: float = _s(30.0, "tp", "tp1_ratio", gt=0, le=100, unit="%")
    tp2_ratio: float = _s(30.0, "tp", "tp2_ratio", gt=0, le=100, unit="%")
    tp3_ratio: float = _s(40.0, "tp", "tp3_ratio", gt=0, le=100, unit="%")

    use_sl: bool = _s(False, "sl", "use_sl")
    sl_option: Literal["percentage", "atr", "price"] = _s("percentage", "sl", "sl_option")
    sl_value: float = _s(5.0, "sl", "sl_value", gt=0, le=1e9)
    use_sl_on_last: bool = _s(False, "sl", "use_sl_on_last")
    use_break_even: bool = _s(True, "sl", "use_break_even")
    use_break_even_tp2: bool = _s(True, "sl", "use_break_even_tp2")
    use_break_even_tp3: bool = _s(True, "sl", "use_break_even_tp3")

    trailing_stop_active: bool = _s(False, "trailing", "trailing_stop_active")
    trailing_start_point: Literal["tp1", "tp2", "tp3"] = _s("tp3", "trailing", "trailing_start_point")
    trailing_stop_offset_value: float = _s(0.5, "trailing", "trailing_stop_offset_value", ge=0.05, le=20, unit="%")
    use_trailing_stop_value_with_tp2_tp3_difference: bool = _s(
        False, "trailing", "use_trailing_stop_value_with_tp2_tp3_difference"
    )
    use_trend_close: bool = _s(True, "trailing", "use_trend_close")

    _pyramiding: ClassVar[Rule] = on("pyramiding_enabled")
    _trailing: ClassVar[Rule] = on("trailing_stop_active")
    # Settings of a feature that is off, or of a side the bot does not trade, change nothing; the others always do.
    APPLIES: ClassVar[dict[str, Rule]] = {
        "rsi_oversold": lambda v: v["direction"] != "short",
        "rsi_overbought": lambda v: v["direction"] != "long",
        **dict.fromkeys(("pyramiding_limit", "pyramiding_entry_type", "pyramiding_value", "entry_criterion",
                         "entry_multiplier", "use_check_dca_with_price", "use_rsi_with_pyramiding",
                         "use_trend_logic"), _pyramiding),
        "tp_option": lambda v: v["use_tp1"] or v["use_tp2"] or v["use_tp3"],
        **{f"tp{k}_{part}": on(f"use_tp{k}") for k in (1, 2, 3) for part in ("value", "ratio")},
        "use_break_even": on("use_tp1"), "use_break_even_tp2": on("use_tp2"), "use_break_even_tp3": on("use_tp3"),
        "sl_option": on("use_sl"), "sl_value": on("use_sl"), "use_sl_on_last": every(on("use_sl"), _pyramiding),
        "trailing_start_point": _trailing, "use_trailing_stop_value_with_tp2_tp3_difference": _trailing,
        "trailing_stop_offset_value": lambda v: v["trailing_stop_active"] and
        not v["use_trailing_stop_value_with_tp2_tp3_difference"],
    }

    @classmethod
    def applicable(cls, values: Mapping[str, Any]) -> list[str]:
        """The settings that matter given `values` (engine/strategies/applies.py): the editor lists only these."""
        return applies.applicable(cls, cls.APPLIES, values)

    def tp_enabled(self, stage: int) -> bool:
        return (self.use_tp1, self.use_tp2, self.use_tp3)[stage - 1]

    def tp_value(self, stage: int) -> float:
        return (self.tp1_value, self.tp2_value, self.tp3_value)[stage - 1]

    def tp_ratio(self, stage: int) -> float:
        return (self.tp1_ratio, self.tp2_ratio, self.tp3_ratio)[stage - 1]

    @property
    def trailing_stage(self) -> int:
        return int(self.trailing_start_point[2])

    @model_validator(mode="after")
    def _coherent(self) -> HyperRsiSettings:
        if self.rsi_oversold >= self.rsi_overbought:
            raise problem("rsi_levels", "rsi_oversold must be below rsi_overbought")
        stages = [k for k in (1, 2, 3) if self.tp_enabled(k)]
        if sum(self.tp_ratio(k) for k in stages) > 100:
            raise problem("tp_ratios", "the close ratios of the enabled take-profits add up to more than 100 %")
        values = [self.tp_value(k) for k in stages]
        if any(b <= a for a, b in pairwise(values)):
            raise problem("tp_order",
                          "each enabled take-profit must be further from the entry than the one before")
        limits = {"percent": (0.1, 50), "atr": (0.1, 20), "price": (0, 1e9)}
        lo, hi = limits[self.pyramiding_entry_type]
        if not lo <= self.pyramiding_value <= hi:
            raise problem("pyramiding_value",
                          f"pyramiding_value for {self.pyramiding_entry_type} spacing must be from {lo} to {hi}")
        if self.tp_option == "percentage" and values and max(values) >= 100 and self.direction != "long":
            raise problem("short_tp", "a short take-profit of 100 % or more is below zero")
        if self.sl_option == "percentage" and self.sl_value >= 100:
            raise problem("stop_loss", "a stop-loss of 100 % or more of the price is never reached")
        if self.trailing_stop_active:
            if stages and not self.tp_enabled(self.trailing_stage):
                raise problem("trailing_stage",
                              f"trailing starts at {self.trailing_start_point}, which is not enabled")
            if self.use_trailing_stop_value_with_tp2_tp3_difference and not (self.use_tp2 and self.use_tp3):
                raise problem("trailing_offset", "a trailing offset of |TP3 - TP2| needs TP2 and TP3 enabled")
        return self

    def stop_margin_loss_pct(self) -> float | None:
        """The margin lost when a percentage stop is hit at this leverage (what the chat warns about)."""
        if not self.use_sl or self.sl_option != "percentage":
            return None
        return self.sl_value * self.leverage


PRESETS: dict[str, dict] = {
    "conservative": {"leverage": 3, "pyramiding_limit": 2, "use_sl": True, "sl_value": 3.0, "entry_multiplier": 1.2},
    "balanced": {},
    "aggressive": {"leverage": 20, "pyramiding_limit": 5, "entry_multiplier": 1.8, "rsi_entry_option": "cross"},
    "trend_follow": {"entry_option": "rsi_trend", "use_trend_close": True, "trailing_stop_active": True},
}
