"""What differs between the supported exchanges: ccxt options, client-id parameter, request rates, stops, demo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.exchange.protocol import MarketType


@dataclass(frozen=True, slots=True)
class Venue:
    ccxt_id: str
    default_type: dict[MarketType, str]  # ccxt options.defaultType per market type (absent: unsupported)
    market_kinds: dict[MarketType, list[str]]  # ccxt options.fetchMarkets.types to load
    client_id_param: str  # the exchange's own name of the client order id on create
    needs_passphrase: bool = False
    # weight units per second (the unit of ccxt's per-endpoint `cost`) shared by every user of the process, and
    # per account; None: the venue's allowance as ccxt states it (1000 / rateLimit)
    public_rate: float | None = None
    private_rate: float | None = None
    burst: int = 5  # weight units
    # where stop orders live apart (fetched, cancelled, listed with ccxt's trigger=True) and name their client id
    triggers_apart: frozenset[MarketType] = frozenset()
    trigger_client_id_param: dict[MarketType, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    lookup_client_id_param: str = "clientOrderId"  # how ccxt's fetch/cancel take a client id for this venue
    # where ccxt's fetch_order needs an order id, an order by client id is asked of the open-orders endpoint
    # (Bybit's /v5/order/realtime answers an orderLinkId among the account's last 500 orders, whatever their state)
    client_id_lookup_in_open_orders: bool = False
    stops: bool = True  # the venue takes stop (trigger) orders
    demo: str | None = None  # how ccxt reaches the venue's demo/testnet (SANDBOX or DEMO_TRADING); None: none
    # where a market buy is sized in the quote coin (ccxt's `cost`): the gateway sends our base amount's value
    market_buys_in_quote: frozenset[MarketType] = frozenset()


SANDBOX, DEMO_TRADING = "sandbox", "demo_trading"  # ccxt's set_sandbox_mode(True) / enable_demo_trading(True)


VENUES: dict[str, Venue] = {
    "okx": Venue("okx", {MarketType.SPOT: "spot", MarketType.SWAP: "swap"},
                 {MarketType.SPOT: ["spot"], MarketType.SWAP: ["swap"]}, "clOrdId", needs_passphrase=True,
                 triggers_apart=frozenset({MarketType.SPOT, MarketType.SWAP}),
                 trigger_client_id_param={MarketType.SPOT: "algoClOrdId", MarketType.SWAP: "algoClOrdId"},
                 demo=SANDBOX),  # Demo Trading: the `x-simulated-trading: 1` header, demo keys
    "binance": Venue("binance", {MarketType.SPOT: "spot", MarketType.SWAP: "future"},
                     {MarketType.SPOT: ["spot"], MarketType.SWAP: ["linear"]}, "newClientOrderId",
                     options={"fetchMargins": False},
                     # USDT-M conditional orders are algo orders named by clientAlgoId; spot stops are plain orders
                     triggers_apart=frozenset({MarketType.SWAP}),
                     trigger_client_id_param={MarketType.SWAP: "clientAlgoId"},
                     demo=DEMO_TRADING),  # demo.binance.com (ccxt refuses the retired futures testnet)
    "bybit": Venue("bybit", {MarketType.SPOT: "spot", MarketType.SWAP: "swap"},
                   {MarketType.SPOT: ["spot"], MarketType.SWAP: ["linear"]}, "orderLinkId",
                   triggers_apart=frozenset({MarketType.SPOT, MarketType.SWAP}),
                   # v5 unified trading accounts only: ccxt need not ask the account kind before every balance
                   options={"enableUnifiedAccount": True, "enableUnifiedMargin": False,
                            "fetchOrder": {"acknowledged": True}},  # an order by id: among the last 500
                   lookup_client_id_param="orderLinkId", client_id_lookup_in_open_orders=True,
                   demo=DEMO_TRADING),  # api-demo.bybit.com: the live market with demo funds
    "bitget": Venue("bitget", {MarketType.SPOT: "spot", MarketType.SWAP: "swap"},
                    {MarketType.SPOT: ["spot"], MarketType.SWAP: ["swap"]}, "clientOid", needs_passphrase=True,
                    # plan orders: apart, found through ccxt/engine.exchange.ccxt_plans
                    triggers_apart=frozenset({MarketType.SPOT, MarketType.SWAP}),
                    # a classic (v2) account: ccxt need not ask whether it is a unified one before each call
                    options={"uta": False}, market_buys_in_quote=frozenset({MarketType.SPOT}),
                    demo=SANDBOX),  # Demo Trading: the `PAPTRADING: 1` header, demo keys
    "upbit": Venue("upbit", {MarketType.SPOT: "spot"}, {MarketType.SPOT: ["spot"]}, "identifier",
                   # identifier lookups, fills from orders, price-band ticks: engine.exchange.ccxt_upbit
                   lookup_client_id_param="identifier", stops=False,
                   market_buys_in_quote=frozenset({MarketType.SPOT})),  # no demo environment either
}


def venue(exchange_id: str) -> Venue:
    v = VENUES.get(exchange_id)
    if v is None:
        raise ValueError(f"unsupported exchange {exchange_id!r}; supported: {', '.join(sorted(VENUES))}")
    return v
