"""The strategies' MarketRules from an exchange Market, in base units (contract size folded into lot and minimum)."""

from __future__ import annotations

from engine.exchange.protocol import Market
from engine.exchange.units import base_market
from engine.strategies.grid_ladder import MarketRules


def market_rules(market: Market) -> MarketRules:
    """Base-unit rules for the strategies and the backtester; `market` may be in venue or base units."""
    m = base_market(market)
    return MarketRules(float(m.price_step), float(m.amount_step), float(m.min_amount or 0), float(m.min_cost or 0))
