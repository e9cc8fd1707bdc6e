"""The API-key check over ccxt: is the key valid, may it trade, may it withdraw (each venue's permission endpoint)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.exchange import ccxt_upbit
from engine.exchange.ccxt_venues import SANDBOX
from engine.exchange.protocol import InvalidKey, KeyCheck, MarketType, MissingPermission

if TYPE_CHECKING:
    from engine.exchange.ccxt_gateway import CcxtGateway


async def check_key(gw: CcxtGateway) -> KeyCheck:
    """Valid? Trading allowed? Withdrawal allowed (None where the exchange does not tell)?"""
    try:
        await gw.fetch_balance()
    except (InvalidKey, MissingPermission) as e:
        return KeyCheck(False, False, None, e.reason)
    can_trade, can_withdraw = True, None
    if gw.sandbox and gw.venue.demo != SANDBOX:
        # Binance's and Bybit's demo trading serve no key-permission endpoint; demo funds cannot leave anyway
        return KeyCheck(True, True, None, "ok")
    ex = gw._ex
    try:
        if gw.exchange_id == "okx":
            cfg = await gw._call("account_config", ex.private_get_account_config, private=True)
            can_trade, can_withdraw = okx_permissions(cfg)
        elif gw.exchange_id == "binance":
            r = await gw._call("api_restrictions", ex.sapi_get_account_apirestrictions, private=True)
            can_trade, can_withdraw = binance_permissions(r, gw.market_type)
        elif gw.exchange_id == "bybit":
            info = await gw._call("query_api", ex.private_get_v5_user_query_api, private=True)
            can_trade, can_withdraw = bybit_permissions(info)
        elif gw.exchange_id == "bitget":
            info = await gw._call("account_info", ex.private_spot_get_v2_spot_account_info, private=True)
            can_trade, can_withdraw = bitget_permissions(info, gw.market_type)
        elif gw.exchange_id == "upbit":  # publishes no key permissions: trading probed, withdrawal untold
            can_trade = await ccxt_upbit.can_trade(gw)
    except (InvalidKey, MissingPermission) as e:
        return KeyCheck(True, False, None, e.reason)
    detail = "withdrawal enabled: refuse this key" if can_withdraw else ("read only" if not can_trade else "ok")
    return KeyCheck(True, can_trade, can_withdraw, detail)


def okx_permissions(config: dict) -> tuple[bool, bool | None]:
    """(can trade, can withdraw) from OKX GET /api/v5/account/config (`perm`: "read_only,trade,withdraw")."""
    data = (config.get("data") or [{}])[0]
    perm = {x.strip() for x in str(data.get("perm", "")).split(",") if x.strip()}
    return "trade" in perm, "withdraw" in perm


def binance_permissions(restrictions: dict, market_type: MarketType) -> tuple[bool, bool | None]:
    """(can trade, can withdraw) from Binance GET /sapi/v1/account/apiRestrictions."""
    trade_flag = "enableSpotAndMarginTrading" if market_type == MarketType.SPOT else "enableFutures"
    return bool(restrictions.get(trade_flag)), bool(restrictions.get("enableWithdrawals"))


def bybit_permissions(info: dict) -> tuple[bool, bool | None]:
    """(can trade, can withdraw) from Bybit GET /v5/user/query-api."""
    result = info.get("result") or {}
    perms = result.get("permissions") or {}
    read_only = str(result.get("readOnly", "0")) == "1"
    wallet = perms.get("Wallet") or []
    return not read_only, "Withdraw" in wallet


def bitget_permissions(info: dict, market_type: MarketType) -> tuple[bool, bool | None]:
    """(can trade, can withdraw) from Bitget GET /api/v2/spot/account/info (`authorities`: "stow" spot trade,
    "coow" futures orders, "wwow" withdrawal, each with write access)."""
    perms = set((info.get("data") or {}).get("authorities") or [])
    return ("stow" if market_type == MarketType.SPOT else "coow") in perms, "wwow" in perms
