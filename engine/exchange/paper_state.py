"""The paper venue's records (orders with what they hold, positions) and their exact JSON form for the store."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from engine.exchange.protocol import MarginMode, OrderInfo, OrderStatus, OrderType, Side, Trade

ZERO = Decimal(0)


@dataclass(slots=True)
class PaperOrder:
    info: OrderInfo
    seq: int
    reserved: Decimal = ZERO  # quote (spot buys, swap margin) or base (spot sells) held for it


@dataclass(slots=True)
class PaperPosition:
    contracts: Decimal = ZERO  # signed
    entry: Decimal = ZERO


# Decimals travel as strings (exact: no column rounding, so a restored account computes what it would have).
_ENUMS: dict[str, type] = {"side": Side, "type": OrderType, "status": OrderStatus}
_DECIMALS = frozenset({"amount", "filled", "price", "average", "trigger_price", "fee"})


def _encode(record: Any) -> dict:
    return {f.name: str(v) if isinstance(v, Decimal) else v
            for f in fields(record) for v in (getattr(record, f.name),)}


def _decode(cls: type, data: dict) -> Any:
    out = {}
    for k, v in data.items():
        if v is not None and k in _DECIMALS:
            v = Decimal(v)
        elif v is not None and k in _ENUMS:
            v = _ENUMS[k](v)
        out[k] = v
    return cls(**out)


def order_to_json(o: PaperOrder) -> dict:
    return {"info": _encode(o.info), "seq": o.seq, "reserved": str(o.reserved)}


def order_from_json(data: dict) -> PaperOrder:
    return PaperOrder(_decode(OrderInfo, data["info"]), int(data["seq"]), Decimal(data["reserved"]))


def trade_to_json(t: Trade) -> dict:
    return _encode(t)


def trade_from_json(data: dict) -> Trade:
    return _decode(Trade, data)


def _decimals(d: dict) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in d.items()}


def _strings(d: dict) -> dict[str, str]:
    return {k: str(v) for k, v in d.items()}


@dataclass(slots=True)
class VenueState:
    """Everything of a paper account but its orders and trades (rows of their own): one small JSON document."""

    balances: dict[str, Decimal]
    positions: dict[str, PaperPosition]
    leverage: dict[str, int]
    margin_mode: dict[str, MarginMode]
    last: dict[str, Decimal]  # last close fed per symbol
    ts: dict[str, int]  # open time of the last candle fed per symbol: where the engine's feed resumes
    seq: int  # the last order id ("O{seq}")
    trades: int  # trades so far (the last trade id is "T{trades}")
    fees_paid: Decimal
    order_writes: int = 0  # stored changes that wrote order rows: a copy with the same count holds the same orders

    def to_json(self) -> dict:
        return {"balances": _strings(self.balances),
                "positions": {s: [str(p.contracts), str(p.entry)] for s, p in self.positions.items()},
                "leverage": dict(self.leverage), "margin_mode": {s: str(m) for s, m in self.margin_mode.items()},
                "last": _strings(self.last), "ts": dict(self.ts), "seq": self.seq, "trades": self.trades,
                "fees_paid": str(self.fees_paid), "order_writes": self.order_writes}

    @classmethod
    def from_json(cls, d: dict) -> VenueState:
        return cls(_decimals(d["balances"]),
                   {s: PaperPosition(Decimal(c), Decimal(e)) for s, (c, e) in d["positions"].items()},
                   {s: int(v) for s, v in d["leverage"].items()},
                   {s: MarginMode(v) for s, v in d["margin_mode"].items()},
                   _decimals(d["last"]), {s: int(v) for s, v in d["ts"].items()}, int(d["seq"]), int(d["trades"]),
                   Decimal(d["fees_paid"]), int(d.get("order_writes", 0)))
