"""Exchange accounts: the caller's live ones, checking a key, creating (key checked and vaulted), deleting."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tortoise.transactions import in_transaction

from bot.engine_port import EnginePort
from bot.services import audit
from bot.services.bots import LIVE
from db.enums import MarketType
from db.models import ExchangeAccount, Order, StrategyBot, User
from engine.exchange.ccxt_venues import VENUES
from engine.exchange.protocol import KeyCheck

__all__ = ["DEFAULT_PAPER_BALANCE", "ExchangeAccount", "active_bots", "by_id", "check_key", "create_live",
           "create_paper", "delete", "history", "is_deleted", "live", "offers_demo", "own"]

DEFAULT_PAPER_BALANCE = Decimal("10000")  # USDT of a paper account made without asking (from a bot's creation)


def _live_of(user: User):
    return ExchangeAccount.filter(user_id=user.id, deleted_at=None)


async def live(user: User) -> list[ExchangeAccount]:
    """The user's accounts that are not deleted, oldest first."""
    return list(await _live_of(user).order_by("id"))


async def own(user: User, account_id: int) -> ExchangeAccount | None:
    """The account if it is the user's and not deleted (every press on an account goes through this)."""
    return await _live_of(user).get_or_none(id=account_id)


async def by_id(account_id: int) -> ExchangeAccount:
    """A bot's account (deleted or not: a bot's history keeps it)."""
    return await ExchangeAccount.get(id=account_id)


async def history(user: User) -> list[ExchangeAccount]:
    """Every account the user ever had, deleted ones too, oldest first (the admins' view)."""
    return list(await ExchangeAccount.filter(user_id=user.id).order_by("id"))


def is_deleted(account: ExchangeAccount) -> bool:
    return account.deleted_at is not None


async def _free_label(user: User, base: str) -> str:
    taken = set(await ExchangeAccount.filter(user_id=user.id).values_list("label", flat=True))
    label, n = base, 1
    while label in taken:
        n += 1
        label = f"{base}-{n}"
    return label


def offers_demo(exchange: str) -> bool:
    """Whether the venue has a demo/testnet environment a demo account can trade in (never Upbit, never paper)."""
    v = VENUES.get(exchange)
    return v is not None and v.demo is not None


async def check_key(exchange: str, market: MarketType, api_key: str, secret: str, passphrase: str | None,
                    urls: str | dict | None = None, *, demo: bool = False) -> KeyCheck:
    """The exchange's verdict on a key, in its demo environment for `demo` (ccxt is loaded on first use)."""
    from engine.exchange.factory import check_api_key

    return await check_api_key(exchange, market, api_key, secret, passphrase, urls_override=urls, sandbox=demo)


async def _create(user: User, base_label: str, **fields) -> ExchangeAccount:
    details = {"exchange": fields["exchange"]} | ({"demo": True} if fields.get("is_demo") else {})
    async with in_transaction():
        acc = await ExchangeAccount.create(user=user, label=await _free_label(user, base_label), **fields)
        await audit.record(user, "account_add", "account", acc.id, details)
    return acc


async def create_live(user: User, exchange: str, market: MarketType, *, api_key_enc: str, secret_enc: str,
                      passphrase_enc: str | None, key_hint: str, is_demo: bool = False) -> ExchangeAccount:
    """A live account from a checked key; the secrets arrive as vault tokens, the hint already masked. `is_demo`:
    the key is one of the venue's demo environment (refused where the venue has none)."""
    if is_demo and not offers_demo(exchange):
        raise ValueError(f"{exchange} has no demo environment")
    return await _create(user, f"{exchange}-{market.value}", exchange=exchange, market_type=market,
                         api_key_enc=api_key_enc, secret_enc=secret_enc, passphrase_enc=passphrase_enc,
                         key_hint=key_hint, is_paper=False, is_demo=is_demo)


async def create_paper(user: User, exchange: str, market: MarketType, balance: Decimal) -> ExchangeAccount:
    return await _create(user, f"paper-{market.value}", exchange=exchange, market_type=market, is_paper=True,
                         paper_balances={"USDT": str(balance)})


async def active_bots(account: ExchangeAccount) -> int:
    """How many of the account's bots deleting it stops first."""
    return await StrategyBot.filter(account_id=account.id, status__in=LIVE).count()


async def delete(user: User, account: ExchangeAccount, engine: EnginePort) -> None:
    """Stop the account's active bots (positions stay open: closing them is the user's choice, on the exchange),
    then delete it: a row its orders refer to stays for their history, marked deleted with its secrets wiped; the
    others go with their bots. Last, the engine closes and forgets the gateway that holds the decrypted key.

    NotYours from the engine (a bot changed hands meanwhile) stops the deletion before anything is written."""
    account_id = account.id
    bots = await StrategyBot.filter(account_id=account_id)
    for b in bots:
        if b.status in LIVE:
            await engine.control.stop_bot(user.id, b.id, close_position=False)
    async with in_transaction():
        traded = set(await Order.filter(account_id=account_id).values_list("bot_id", flat=True))
        for b in bots:
            if b.id not in traded:
                await b.delete()
        if traded:
            account.deleted_at = datetime.now(UTC)
            account.api_key_enc = account.secret_enc = account.passphrase_enc = None
            await account.save(update_fields=["deleted_at", "api_key_enc", "secret_enc", "passphrase_enc"])
        else:
            await account.delete()
        await audit.record(user, "account_delete", "account", account_id)
    await engine.forget_account(account_id)
