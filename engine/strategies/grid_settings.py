"""GRID settings: fixed-range and adaptive ladders, direction, sizing, bounds and the seed's clamps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from engine.strategies import applies
from engine.strategies.applies import Rule, equals, every, on
from engine.strategies.fields import problem, setting

TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d")


def _s(default, group: str, name: str, **kw):
    return setting(default, label=f"grid.{name}.label", help=f"grid.{name}.help", group=group, **kw)


class GridSettings(BaseModel):
    """Every setting of a GRID bot. Prices of 0 mean "off" for the optional bounds and trailing limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["fixed", "adaptive"] = _s("fixed", "ladder", "mode")
    direction: Literal["long", "short", "neutral"] = _s("long", "ladder", "direction")
    lower_price: float = _s(0.0, "ladder", "lower_price", ge=0, le=1e9)
    upper_price: float = _s(0.0, "ladder", "upper_price", ge=0, le=1e9)
    levels: int = _s(20, "ladder", "levels", ge=2, le=200)
    spacing: Literal["arithmetic", "geometric"] = _s("arithmetic", "ladder", "spacing")

    investment: float = _s(1000.0, "sizing", "investment", gt=0, le=1e9, unit="USDT")
    leverage: int = _s(1, "sizing", "leverage", ge=1, le=125)
    fee_rate: float = _s(0.1, "sizing", "fee_rate", ge=0, le=1, unit="%")

    tp_min_pct: float = _s(0.4, "counter", "tp_min_pct", gt=0, le=50, unit="%")
    tp_max_pct: float = _s(8.0, "counter", "tp_max_pct", gt=0, le=100, unit="%")
    short_tp_min_pct: float = _s(0.7, "counter", "short_tp_min_pct", gt=0, le=50, unit="%")
    short_tp_max_pct: float = _s(7.0, "counter", "short_tp_max_pct", gt=0, le=100, unit="%")
    reentry_gap_pct: float = _s(0.5, "counter", "reentry_gap_pct", ge=0, le=50, unit="%")

    stop_loss_price: float = _s(0.0, "bounds", "stop_loss_price", ge=0, le=1e9)
    take_profit_price: float = _s(0.0, "bounds", "take_profit_price", ge=0, le=1e9)
    trailing_up: bool = _s(False, "bounds", "trailing_up")
    trailing_up_limit: float = _s(0.0, "bounds", "trailing_up_limit", ge=0, le=1e9)
    trailing_down: bool = _s(False, "bounds", "trailing_down")
    trailing_down_limit: float = _s(0.0, "bounds", "trailing_down_limit", ge=0, le=1e9)

    # Both modes act on candle closes (arming levels, bounds, trailing) and both have the ADX gate.
    timeframe: Literal["1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d"] = _s(
        "15m", "candles", "timeframe", choices=TIMEFRAMES
    )
    adx_gate: bool = _s(True, "candles", "adx_gate")
    adx_threshold: float = _s(20.0, "candles", "adx_threshold", ge=1, le=100)
    fama_length: int = _s(20, "adaptive", "fama_length", ge=2, le=500)
    atr_length: int = _s(14, "adaptive", "atr_length", ge=2, le=500)
    recenter_candles: int = _s(1, "adaptive", "recenter_candles", ge=1, le=10_000, unit="candles")

    _fixed: ClassVar[Rule] = equals("mode", "fixed")
    _adaptive: ClassVar[Rule] = equals("mode", "adaptive")
    # Settings that matter only in some cases; the others always do.
    APPLIES: ClassVar[dict[str, Rule]] = {
        "lower_price": _fixed, "upper_price": _fixed, "spacing": _fixed,
        "trailing_up": _fixed, "trailing_up_limit": every(_fixed, on("trailing_up")),
        "trailing_down": _fixed, "trailing_down_limit": every(_fixed, on("trailing_down")),
        "adx_threshold": on("adx_gate"),
        "fama_length": _adaptive, "atr_length": _adaptive, "recenter_candles": _adaptive,
    }

    @classmethod
    def applicable(cls, values: Mapping[str, Any]) -> list[str]:
        """The settings that matter given `values` (engine/strategies/applies.py): the editor lists only these."""
        return applies.applicable(cls, cls.APPLIES, values)

    @property
    def fee(self) -> float:
        return self.fee_rate / 100

    @model_validator(mode="after")
    def _coherent(self) -> GridSettings:
        if self.mode == "fixed":
            if not 0 < self.lower_price < self.upper_price:
                raise problem("grid_range", "a fixed grid needs 0 < lower_price < upper_price")
            lo, hi = self.lower_price, self.upper_price
            sl, tp = self.stop_loss_price, self.take_profit_price
            below = self.direction in ("long", "neutral")
            if sl and ((below and sl >= lo) or (not below and sl <= hi)):
                raise problem("grid_stop", "stop_loss_price must lie outside the grid, on the losing side")
            if tp and ((below and tp <= hi) or (not below and tp >= lo)):
                raise problem("grid_take_profit",
                              "take_profit_price must lie outside the grid, on the winning side")
        round_trip = 2 * self.fee_rate
        for lo, hi, name in ((self.tp_min_pct, self.tp_max_pct, "tp"), (self.short_tp_min_pct,
                                                                      self.short_tp_max_pct, "short_tp")):
            if lo >= hi:
                raise problem("grid_tp_order", f"{name}_min_pct must be below {name}_max_pct")
            if lo <= round_trip:
                raise problem("grid_fees",
                              f"{name}_min_pct must exceed the round-trip fees ({round_trip:g} %): grids would lose")
        if self.trailing_up and self.trailing_up_limit and self.mode == "fixed" and \
                self.trailing_up_limit <= self.upper_price:
            raise problem("grid_trailing_up", "trailing_up_limit must be above upper_price")
        if self.trailing_down and self.trailing_down_limit and self.mode == "fixed" and \
                self.trailing_down_limit >= self.lower_price:
            raise problem("grid_trailing_down", "trailing_down_limit must be below lower_price")
        if self.mode == "adaptive" and (self.trailing_up or self.trailing_down):
            raise problem("grid_adaptive_trailing",
                          "an adaptive grid follows the market by re-centring; trailing is for fixed grids")
        return self


PRESETS: dict[str, dict] = {
    "adaptive_seed": {"mode": "adaptive", "direction": "long", "levels": 20, "leverage": 10},
    "tight_neutral": {"direction": "neutral", "levels": 40, "spacing": "geometric"},
    "wide_long": {"direction": "long", "levels": 10, "spacing": "geometric", "trailing_up": True},
}
