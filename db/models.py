"""Tortoise models of the data model in DESIGN.md; money is Decimal, Telegram ids BIGINT, times UTC."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from db.enums import (
    BotKind,
    BotStatus,
    Delivery,
    LevelState,
    MarketType,
    NotificationStatus,
    NotifyLevel,
    OrderRole,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    Role,
)


def _money(**kw):  # 36 digits, 18 after the point: enough for satoshi prices and whale sizes
    return fields.DecimalField(max_digits=36, decimal_places=18, **kw)


class User(Model):
    id = fields.IntField(primary_key=True)
    telegram_id = fields.BigIntField(unique=True)
    username = fields.CharField(max_length=64, null=True)
    first_name = fields.CharField(max_length=128, null=True)
    language = fields.CharField(max_length=8, default="en")
    role = fields.CharEnumField(Role, default=Role.USER)
    blocked = fields.BooleanField(default=False)  # blocked by an admin
    active = fields.BooleanField(default=True)  # false once the user blocked the bot
    risk_accepted_at = fields.DatetimeField(null=True)
    notify_level = fields.CharEnumField(NotifyLevel, default=NotifyLevel.ALL, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "users"


class ExchangeAccount(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="accounts", on_delete=fields.CASCADE
    )
    exchange = fields.CharField(max_length=20)
    market_type = fields.CharEnumField(MarketType)
    label = fields.CharField(max_length=64)
    # Secrets are vault tokens (db.vault), never plaintext.
    api_key_enc = fields.TextField(null=True)
    secret_enc = fields.TextField(null=True)
    passphrase_enc = fields.TextField(null=True)
    key_hint = fields.CharField(max_length=16, default="")  # masked: first and last 4 characters
    is_paper = fields.BooleanField(default=False)
    is_demo = fields.BooleanField(default=False)  # the venue's demo/testnet environment: demo keys, no real money
    paper_balances = fields.JSONField(null=True)  # {"USDT": "10000"} as strings of Decimals
    deleted_at = fields.DatetimeField(null=True)  # deleted by its user: secrets wiped, kept for the bots' history
    last_verified_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "exchange_accounts"
        unique_together = (("user", "label"),)


class StrategyBot(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="bots", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[ExchangeAccount] = fields.ForeignKeyField(
        "models.ExchangeAccount", related_name="bots", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(BotKind)
    symbol = fields.CharField(max_length=40)
    settings = fields.JSONField()  # validated by the pydantic settings model of `kind`
    config_hash = fields.CharField(max_length=64, default="")
    status = fields.CharEnumField(BotStatus, default=BotStatus.DRAFT)
    state = fields.JSONField(null=True)  # the strategy's persisted state between evaluations
    # the last candles' decisions for /why, oldest first (engine/strategies/decisions.py), appended where written
    decisions = fields.JSONField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    started_at = fields.DatetimeField(null=True)
    stopped_at = fields.DatetimeField(null=True)

    class Meta:
        table = "strategy_bots"
        indexes = (("symbol", "status"),)  # a market's bots, read by every job of that market (engine/jobs)


class Order(Model):
    id = fields.IntField(primary_key=True)
    bot: fields.ForeignKeyRelation[StrategyBot] = fields.ForeignKeyField(
        "models.StrategyBot", related_name="orders", on_delete=fields.RESTRICT
    )
    account: fields.ForeignKeyRelation[ExchangeAccount] = fields.ForeignKeyField(
        "models.ExchangeAccount", related_name="orders", on_delete=fields.RESTRICT
    )
    client_order_id = fields.CharField(max_length=64, unique=True)
    exchange_order_id = fields.CharField(max_length=64, null=True, db_index=True)
    symbol = fields.CharField(max_length=40)
    role = fields.CharEnumField(OrderRole)
    level = fields.IntField(null=True)
    seq = fields.IntField(default=0)
    side = fields.CharEnumField(OrderSide)
    type = fields.CharEnumField(OrderType)
    price = _money(null=True)
    trigger_price = _money(null=True)
    amount = _money()
    filled = _money(default=0)
    average = _money(null=True)
    reduce_only = fields.BooleanField(default=False)
    status = fields.CharEnumField(OrderStatus, default=OrderStatus.PENDING, db_index=True)
    reason = fields.CharField(max_length=64, default="")
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "orders"


class Fill(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="fills", on_delete=fields.RESTRICT
    )
    account: fields.ForeignKeyRelation[ExchangeAccount] = fields.ForeignKeyField(
        "models.ExchangeAccount", related_name="fills", on_delete=fields.RESTRICT
    )
    trade_id = fields.CharField(max_length=64)
    price = _money()
    amount = _money()
    fee = _money(default=0)
    fee_currency = fields.CharField(max_length=16, null=True)
    realized_pnl = _money(default=0)
    ts = fields.BigIntField()  # epoch ms of the execution
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "fills"
        unique_together = (("account", "trade_id"),)


class Position(Model):
    id = fields.IntField(primary_key=True)
    bot: fields.OneToOneRelation[StrategyBot] = fields.OneToOneField(
        "models.StrategyBot", related_name="position", on_delete=fields.CASCADE
    )
    symbol = fields.CharField(max_length=40)
    side = fields.CharEnumField(PositionSide, default=PositionSide.FLAT)
    size = _money(default=0)
    average_entry = _money(null=True)
    pyramid_count = fields.IntField(default=0)
    tp_stage = fields.IntField(default=0)
    trailing = fields.JSONField(null=True)  # {"active": bool, "best": "…", "stop": "…"}
    realized_pnl = _money(default=0)
    fees = _money(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "positions"


class GridLevel(Model):
    id = fields.IntField(primary_key=True)
    bot: fields.ForeignKeyRelation[StrategyBot] = fields.ForeignKeyField(
        "models.StrategyBot", related_name="grid_levels", on_delete=fields.CASCADE
    )
    index = fields.IntField()
    price = _money()
    state = fields.CharEnumField(LevelState, default=LevelState.IDLE)
    entry_client_id = fields.CharField(max_length=64, null=True)
    exit_client_id = fields.CharField(max_length=64, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "grid_levels"
        unique_together = (("bot", "index"),)


class Notification(Model):
    """The outbox: written in the same transaction as the change it reports, delivered by bot/notifier."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=32)
    payload = fields.JSONField()
    dedup_key = fields.CharField(max_length=191, unique=True)
    status = fields.CharEnumField(NotificationStatus, default=NotificationStatus.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    delivery = fields.CharEnumField(Delivery, null=True)
    parts_sent = fields.IntField(default=0)  # parts of a split message Telegram has accepted
    claimed_by = fields.CharField(max_length=32, null=True)  # the notifier holding a QUEUED or SENDING row
    claimed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"


class NotifierWorker(Model):
    """A running notifier (bot/notifier_claim.py): the outbox rows it claimed stay its own while `seen_at` is fresh."""

    token = fields.CharField(max_length=32, primary_key=True)  # Notification.claimed_by
    seen_at = fields.DatetimeField()
    started_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notifier_workers"


class AuditLog(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit", null=True, on_delete=fields.SET_NULL
    )
    actor_telegram_id = fields.BigIntField(null=True)
    action = fields.CharField(max_length=64)
    object_type = fields.CharField(max_length=32, default="")
    object_id = fields.CharField(max_length=64, default="")
    details = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_log"


class PaperVenue(Model):
    """A paper account's simulated exchange, what is not an order or a trade: balances, positions, leverage, the last
    candle fed per symbol and the id sequences (engine/exchange/paper_state.VenueState as JSON). `version` grows by
    one with every change, written in one transaction with the order and trade rows that change touched."""

    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation[ExchangeAccount] = fields.OneToOneField(
        "models.ExchangeAccount", related_name="paper_venue", on_delete=fields.CASCADE
    )
    version = fields.IntField(default=0)
    state = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "paper_venues"


class PaperVenueOrder(Model):
    """One order of a paper account as its venue holds it (paper_state.order_to_json); `seq` is its id "O{seq}"."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[ExchangeAccount] = fields.ForeignKeyField(
        "models.ExchangeAccount", related_name="paper_orders", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    open = fields.BooleanField(default=True)
    client_order_id = fields.CharField(max_length=64, null=True)  # data's, for lookups of orders not in memory
    data = fields.JSONField()

    class Meta:
        table = "paper_orders"
        unique_together = (("account", "seq"),)
        indexes = (("account", "open"), ("account", "client_order_id"))


class PaperVenueTrade(Model):
    """One execution on a paper account (paper_state.trade_to_json); `seq` is its id "T{seq}" and the fills cursor."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[ExchangeAccount] = fields.ForeignKeyField(
        "models.ExchangeAccount", related_name="paper_trades", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    symbol = fields.CharField(max_length=40)
    ts = fields.BigIntField(default=0)  # data's (ms), for reads by time of trades not in memory
    data = fields.JSONField()

    class Meta:
        table = "paper_trades"
        unique_together = (("account", "seq"),)
        indexes = (("account", "symbol", "seq"), ("account", "symbol", "ts"))
