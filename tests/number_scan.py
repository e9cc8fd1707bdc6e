"""Finds numbers in chat text that show more decimals than a market allows (the "numbers for people" rule)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# a number, its decimals, and the word right after it (a currency shows what kind of number it is); a number glued
# to Korean text is still a number, one glued to Latin letters or digits is part of a name ("#3", "5m", "e5")
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])-?\d[\d,]*(?:\.(\d+))?(?:e[-+]?\d+)?(?:\s?([A-Z]{2,6}\b))?")


@dataclass(frozen=True)
class Rules:
    """What one market allows: decimals of its tick and lot, its currencies."""

    base: str
    quote: str
    price_decimals: int
    amount_decimals: int

    @property
    def most(self) -> int:
        return max(self.price_decimals, self.amount_decimals)


def too_precise(text: str, rules: list[Rules]) -> list[str]:
    """Every number in `text` with more decimals than allowed, in any exponent notation at all, or money
    (followed by a quote currency) with more than 2; `rules` are the markets the session traded."""
    most = max(r.most for r in rules)
    allowed = {r.quote: 2 for r in rules} | {r.base: r.amount_decimals for r in rules}
    bad = []
    for m in NUMBER.finditer(text):
        token, decimals, unit = m.group(0), len(m.group(1) or ""), m.group(2)
        if re.search(r"\de[-+]?\d", token) or decimals > allowed.get(unit, most):
            bad.append(token)
    return bad
