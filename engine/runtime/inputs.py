"""Strategy inputs for the live runners: engine.strategy_inputs (shared with the backtester) plus sharing keys."""

from __future__ import annotations

from dataclasses import replace

from engine.strategies.grid import GridSettings
from engine.strategies.hyperrsi import HyperRsiSettings
from engine.strategy_inputs import grid_inputs, hyperrsi_inputs, warmup

__all__ = ["grid_inputs", "hyperrsi_inputs", "params_key", "warmup", "with_index"]


def params_key(settings: HyperRsiSettings | GridSettings) -> tuple:
    """Bots whose settings give the same key share one indicator computation."""
    if isinstance(settings, HyperRsiSettings):
        return ("hyperrsi", settings.rsi_period, settings.timeframe)
    return ("grid", settings.timeframe, settings.fama_length, settings.atr_length, settings.adx_gate,
            settings.adx_threshold)


def with_index(inputs, index: int):
    """The inputs renumbered with an absolute candle index (open time // timeframe), stable across restarts."""
    return replace(inputs, index=index)
