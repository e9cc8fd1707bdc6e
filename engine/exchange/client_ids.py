"""Deterministic client order ids that fit every supported exchange, and their inverse.

Shape: "tb" + user + "U" + bot + "B" + role letter + level + "L" + seq, numbers in lowercase base 36 and
separators in upper case, so the id parses back unambiguously. All alphanumeric and at most 32 characters:
within OKX (≤ 32 alphanumerics), Binance and Bybit (≤ 36), Bitget (≤ 50) and Upbit identifiers. The "tb"
prefix lets reconciliation recognise (and adopt) our own orders.
"""

from __future__ import annotations

import re
from typing import NamedTuple

PREFIX = "tb"
ROLES = {"entry": "E", "pyramid": "P", "tp": "T", "sl": "S", "trailing": "R", "close": "C",
         "grid_entry": "G", "grid_exit": "X"}
_ROLE_OF = {v: k for k, v in ROLES.items()}
_RULES = {
    "okx": re.compile(r"^[A-Za-z0-9]{1,32}$"),
    "binance": re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$"),
    "bybit": re.compile(r"^[A-Za-z0-9_-]{1,36}$"),
    "bitget": re.compile(r"^[A-Za-z0-9_-]{1,50}$"),
    "upbit": re.compile(r"^[A-Za-z0-9_-]{1,64}$"),
    "paper": re.compile(r"^[A-Za-z0-9]{1,64}$"),
}
_PARSE = re.compile(r"^tb([0-9a-z]+)U([0-9a-z]+)B([A-Z])([0-9a-z]*)L([0-9a-z]+)$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class ClientId(NamedTuple):
    user_id: int
    bot_id: int
    role: str
    level: int | None
    seq: int


def _b36(n: int) -> str:
    if n < 0:
        raise ValueError("ids are non-negative")
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if n == 0:
            return out


def make_client_id(exchange_id: str, user_id: int, bot_id: int, role: str, level: int | None, seq: int) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown order role {role!r}")
    cid = f"{PREFIX}{_b36(user_id)}U{_b36(bot_id)}B{ROLES[role]}{'' if level is None else _b36(level)}L{_b36(seq)}"
    rule = _RULES.get(exchange_id, _RULES["okx"])
    if len(cid) > 32 or not rule.match(cid):
        raise ValueError(f"client id {cid!r} does not fit {exchange_id}'s rules")
    return cid


def parse_client_id(cid: str) -> ClientId | None:
    """The parts of one of our ids; None for anybody else's order."""
    m = _PARSE.match(cid or "")
    if not m or m.group(3) not in _ROLE_OF:
        return None
    return ClientId(int(m.group(1), 36), int(m.group(2), 36), _ROLE_OF[m.group(3)],
                    int(m.group(4), 36) if m.group(4) else None, int(m.group(5), 36))


def fits(exchange_id: str, cid: str) -> bool:
    return bool(_RULES[exchange_id].match(cid))
