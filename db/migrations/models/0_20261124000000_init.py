"""Initial schema (both dialects: Aerich generates SQL per database, so this file carries both)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""
        CREATE TABLE IF NOT EXISTS "users" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "telegram_id" BIGINT NOT NULL UNIQUE,
    "username" VARCHAR(64),
    "first_name" VARCHAR(128),
    "language" VARCHAR(8) NOT NULL,
    "role" VARCHAR(5) NOT NULL /* USER: user\nADMIN: admin */,
    "blocked" INT NOT NULL,
    "active" INT NOT NULL,
    "risk_accepted_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS "audit_log" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "actor_telegram_id" BIGINT,
    "action" VARCHAR(64) NOT NULL,
    "object_type" VARCHAR(32) NOT NULL,
    "object_id" VARCHAR(64) NOT NULL,
    "details" JSON,
    "created_at" TIMESTAMP NOT NULL,
    "user_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_audit_log_created_277f5d" ON "audit_log" ("created_at");
CREATE TABLE IF NOT EXISTS "exchange_accounts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "exchange" VARCHAR(20) NOT NULL,
    "market_type" VARCHAR(4) NOT NULL /* SPOT: spot\nSWAP: swap */,
    "label" VARCHAR(64) NOT NULL,
    "api_key_enc" TEXT,
    "secret_enc" TEXT,
    "passphrase_enc" TEXT,
    "key_hint" VARCHAR(16) NOT NULL,
    "is_paper" INT NOT NULL,
    "paper_balances" JSON,
    "last_verified_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_exchange_ac_user_id_602512" UNIQUE ("user_id", "label")
);
CREATE TABLE IF NOT EXISTS "notifications" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(32) NOT NULL,
    "payload" JSON NOT NULL,
    "dedup_key" VARCHAR(191) NOT NULL UNIQUE,
    "status" VARCHAR(7) NOT NULL /* PENDING: pending\nSENT: sent\nFAILED: failed\nDROPPED: dropped */,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMP,
    "last_error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "sent_at" TIMESTAMP,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* The outbox: written in the same transaction as the change it reports, delivered by bot\/notifier. */;
CREATE INDEX IF NOT EXISTS "idx_notificatio_status_7f8af2" ON "notifications" ("status");
CREATE TABLE IF NOT EXISTS "strategy_bots" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(8) NOT NULL /* HYPERRSI: hyperrsi\nGRID: grid */,
    "symbol" VARCHAR(40) NOT NULL,
    "settings" JSON NOT NULL,
    "config_hash" VARCHAR(64) NOT NULL,
    "status" VARCHAR(8) NOT NULL /* DRAFT: draft\nRUNNING: running\nPAUSED: paused\nSTOPPING: stopping\nSTOPPED: stopped\nERROR: error */,
    "state" JSON,
    "last_error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "started_at" TIMESTAMP,
    "stopped_at" TIMESTAMP,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE RESTRICT,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "grid_levels" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "index" INT NOT NULL,
    "price" VARCHAR(40) NOT NULL,
    "state" VARCHAR(12) NOT NULL /* IDLE: idle\nENTRY_PLACED: entry_placed\nENTRY_FILLED: entry_filled\nEXIT_PLACED: exit_placed\nCOMPLETED: completed\nCANCELLED: cancelled\nFAILED: failed */,
    "entry_client_id" VARCHAR(64),
    "exit_client_id" VARCHAR(64),
    "updated_at" TIMESTAMP NOT NULL,
    "bot_id" INT NOT NULL REFERENCES "strategy_bots" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_grid_levels_bot_id_6f9ead" UNIQUE ("bot_id", "index")
);
CREATE TABLE IF NOT EXISTS "orders" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "client_order_id" VARCHAR(64) NOT NULL UNIQUE,
    "exchange_order_id" VARCHAR(64),
    "symbol" VARCHAR(40) NOT NULL,
    "role" VARCHAR(10) NOT NULL /* ENTRY: entry\nPYRAMID: pyramid\nTAKE_PROFIT: tp\nSTOP_LOSS: sl\nTRAILING: trailing\nCLOSE: close\nGRID_ENTRY: grid_entry\nGRID_EXIT: grid_exit */,
    "level" INT,
    "seq" INT NOT NULL,
    "side" VARCHAR(4) NOT NULL /* BUY: buy\nSELL: sell */,
    "type" VARCHAR(11) NOT NULL /* MARKET: market\nLIMIT: limit\nSTOP_MARKET: stop_market */,
    "price" VARCHAR(40),
    "trigger_price" VARCHAR(40),
    "amount" VARCHAR(40) NOT NULL,
    "filled" VARCHAR(40) NOT NULL,
    "average" VARCHAR(40),
    "reduce_only" INT NOT NULL,
    "status" VARCHAR(8) NOT NULL /* PENDING: pending\nOPEN: open\nCLOSED: closed\nCANCELED: canceled\nREJECTED: rejected\nEXPIRED: expired\nUNKNOWN: unknown */,
    "reason" VARCHAR(64) NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE RESTRICT,
    "bot_id" INT NOT NULL REFERENCES "strategy_bots" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_orders_exchang_74d080" ON "orders" ("exchange_order_id");
CREATE INDEX IF NOT EXISTS "idx_orders_status_33ec6d" ON "orders" ("status");
CREATE TABLE IF NOT EXISTS "fills" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "trade_id" VARCHAR(64) NOT NULL,
    "price" VARCHAR(40) NOT NULL,
    "amount" VARCHAR(40) NOT NULL,
    "fee" VARCHAR(40) NOT NULL,
    "fee_currency" VARCHAR(16),
    "realized_pnl" VARCHAR(40) NOT NULL,
    "ts" BIGINT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE RESTRICT,
    "order_id" INT NOT NULL REFERENCES "orders" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_fills_account_15abe9" UNIQUE ("account_id", "trade_id")
);
CREATE TABLE IF NOT EXISTS "positions" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "symbol" VARCHAR(40) NOT NULL,
    "side" VARCHAR(5) NOT NULL /* FLAT: flat\nLONG: long\nSHORT: short */,
    "size" VARCHAR(40) NOT NULL,
    "average_entry" VARCHAR(40),
    "pyramid_count" INT NOT NULL,
    "tp_stage" INT NOT NULL,
    "trailing" JSON,
    "realized_pnl" VARCHAR(40) NOT NULL,
    "fees" VARCHAR(40) NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "bot_id" INT NOT NULL UNIQUE REFERENCES "strategy_bots" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""

_POSTGRES_UP = r"""
        CREATE TABLE IF NOT EXISTS "users" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "telegram_id" BIGINT NOT NULL UNIQUE,
    "username" VARCHAR(64),
    "first_name" VARCHAR(128),
    "language" VARCHAR(8) NOT NULL,
    "role" VARCHAR(5) NOT NULL,
    "blocked" BOOL NOT NULL,
    "active" BOOL NOT NULL,
    "risk_accepted_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON COLUMN "users"."role" IS 'USER: user\nADMIN: admin';
CREATE TABLE IF NOT EXISTS "audit_log" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "actor_telegram_id" BIGINT,
    "action" VARCHAR(64) NOT NULL,
    "object_type" VARCHAR(32) NOT NULL,
    "object_id" VARCHAR(64) NOT NULL,
    "details" JSONB,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_audit_log_created_277f5d" ON "audit_log" ("created_at");
CREATE TABLE IF NOT EXISTS "exchange_accounts" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "exchange" VARCHAR(20) NOT NULL,
    "market_type" VARCHAR(4) NOT NULL,
    "label" VARCHAR(64) NOT NULL,
    "api_key_enc" TEXT,
    "secret_enc" TEXT,
    "passphrase_enc" TEXT,
    "key_hint" VARCHAR(16) NOT NULL,
    "is_paper" BOOL NOT NULL,
    "paper_balances" JSONB,
    "last_verified_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_exchange_ac_user_id_602512" UNIQUE ("user_id", "label")
);
COMMENT ON COLUMN "exchange_accounts"."market_type" IS 'SPOT: spot\nSWAP: swap';
CREATE TABLE IF NOT EXISTS "notifications" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(32) NOT NULL,
    "payload" JSONB NOT NULL,
    "dedup_key" VARCHAR(191) NOT NULL UNIQUE,
    "status" VARCHAR(7) NOT NULL,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMPTZ,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "sent_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_status_7f8af2" ON "notifications" ("status");
COMMENT ON COLUMN "notifications"."status" IS 'PENDING: pending\nSENT: sent\nFAILED: failed\nDROPPED: dropped';
COMMENT ON TABLE "notifications" IS 'The outbox: written in the same transaction as the change it reports, delivered by bot/notifier.';
CREATE TABLE IF NOT EXISTS "strategy_bots" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(8) NOT NULL,
    "symbol" VARCHAR(40) NOT NULL,
    "settings" JSONB NOT NULL,
    "config_hash" VARCHAR(64) NOT NULL,
    "status" VARCHAR(8) NOT NULL,
    "state" JSONB,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "started_at" TIMESTAMPTZ,
    "stopped_at" TIMESTAMPTZ,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE RESTRICT,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
COMMENT ON COLUMN "strategy_bots"."kind" IS 'HYPERRSI: hyperrsi\nGRID: grid';
COMMENT ON COLUMN "strategy_bots"."status" IS 'DRAFT: draft\nRUNNING: running\nPAUSED: paused\nSTOPPING: stopping\nSTOPPED: stopped\nERROR: error';
CREATE TABLE IF NOT EXISTS "grid_levels" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "index" INT NOT NULL,
    "price" DECIMAL(36,18) NOT NULL,
    "state" VARCHAR(12) NOT NULL,
    "entry_client_id" VARCHAR(64),
    "exit_client_id" VARCHAR(64),
    "updated_at" TIMESTAMPTZ NOT NULL,
    "bot_id" INT NOT NULL REFERENCES "strategy_bots" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_grid_levels_bot_id_6f9ead" UNIQUE ("bot_id", "index")
);
COMMENT ON COLUMN "grid_levels"."state" IS 'IDLE: idle\nENTRY_PLACED: entry_placed\nENTRY_FILLED: entry_filled\nEXIT_PLACED: exit_placed\nCOMPLETED: completed\nCANCELLED: cancelled\nFAILED: failed';
CREATE TABLE IF NOT EXISTS "orders" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "client_order_id" VARCHAR(64) NOT NULL UNIQUE,
    "exchange_order_id" VARCHAR(64),
    "symbol" VARCHAR(40) NOT NULL,
    "role" VARCHAR(10) NOT NULL,
    "level" INT,
    "seq" INT NOT NULL,
    "side" VARCHAR(4) NOT NULL,
    "type" VARCHAR(11) NOT NULL,
    "price" DECIMAL(36,18),
    "trigger_price" DECIMAL(36,18),
    "amount" DECIMAL(36,18) NOT NULL,
    "filled" DECIMAL(36,18) NOT NULL,
    "average" DECIMAL(36,18),
    "reduce_only" BOOL NOT NULL,
    "status" VARCHAR(8) NOT NULL,
    "reason" VARCHAR(64) NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE RESTRICT,
    "bot_id" INT NOT NULL REFERENCES "strategy_bots" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_orders_exchang_74d080" ON "orders" ("exchange_order_id");
CREATE INDEX IF NOT EXISTS "idx_orders_status_33ec6d" ON "orders" ("status");
COMMENT ON COLUMN "orders"."role" IS 'ENTRY: entry\nPYRAMID: pyramid\nTAKE_PROFIT: tp\nSTOP_LOSS: sl\nTRAILING: trailing\nCLOSE: close\nGRID_ENTRY: grid_entry\nGRID_EXIT: grid_exit';
COMMENT ON COLUMN "orders"."side" IS 'BUY: buy\nSELL: sell';
COMMENT ON COLUMN "orders"."type" IS 'MARKET: market\nLIMIT: limit\nSTOP_MARKET: stop_market';
COMMENT ON COLUMN "orders"."status" IS 'PENDING: pending\nOPEN: open\nCLOSED: closed\nCANCELED: canceled\nREJECTED: rejected\nEXPIRED: expired\nUNKNOWN: unknown';
CREATE TABLE IF NOT EXISTS "fills" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "trade_id" VARCHAR(64) NOT NULL,
    "price" DECIMAL(36,18) NOT NULL,
    "amount" DECIMAL(36,18) NOT NULL,
    "fee" DECIMAL(36,18) NOT NULL,
    "fee_currency" VARCHAR(16),
    "realized_pnl" DECIMAL(36,18) NOT NULL,
    "ts" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE RESTRICT,
    "order_id" INT NOT NULL REFERENCES "orders" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_fills_account_15abe9" UNIQUE ("account_id", "trade_id")
);
CREATE TABLE IF NOT EXISTS "positions" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "symbol" VARCHAR(40) NOT NULL,
    "side" VARCHAR(5) NOT NULL,
    "size" DECIMAL(36,18) NOT NULL,
    "average_entry" DECIMAL(36,18),
    "pyramid_count" INT NOT NULL,
    "tp_stage" INT NOT NULL,
    "trailing" JSONB,
    "realized_pnl" DECIMAL(36,18) NOT NULL,
    "fees" DECIMAL(36,18) NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "bot_id" INT NOT NULL UNIQUE REFERENCES "strategy_bots" ("id") ON DELETE CASCADE
);
COMMENT ON COLUMN "positions"."side" IS 'FLAT: flat\nLONG: long\nSHORT: short';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""

_SQLITE_DOWN = r"""
        """

_POSTGRES_DOWN = r"""
        """


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXVtz4jgW/isunnqr2N5Ars0bBNLNNgEKyE7PTKZcwhZEG2N7bJEOM9v/fSXfL7Kxzc"
    "249ZIKko4v35Flne9c/HdtpclQMT+21zLCA21Zawl/11SwguSfWF9dqAFd93toAwZzxRoM"
    "6ChRcYbNTWwACZOOBVBMSJpkaEoG0jHSVNKqrhWFNmoSGYjUpd+0VtGfayhibQnxCzRIx+"
    "9/kGakyvAdmu5P/VVcIKjIoetFMj231S7ijW619VX8YA2kZ5uLkqasV6o/WN/gF031RiMV"
    "09YlVKEBMKSHx8aaXj69OudW3Tuyr9QfYl9iQEaGC7BWcOB256LfVhPF4WgmTnszUazlAE"
    "jSVAouuVTTuvslvYR/NhtXt1d3lzdXd2SIdZley+0P+9Q+MLagBc9wVvth9QMM7BEWxj6o"
    "RIuaIWKowKUBViIL4w5aJsLMFN+OuotxAHYHVA91d4gPuz/Vjof7p2bz8vK2eXF5c3d9dX"
    "t7fXfhKSDelaaJTv8zVQYZoJEnx36mXO2EtEGvM6aC+xdgJCrAkYigTm4mA+qxyX5q2Ffg"
    "XVSgusQv5OfNVQqi/2lP7r+0Jx9urv4RhnXo9DStrjDA2vy/UMI2SDlQjogdD+pa7ShAXz"
    "YzAH3ZTASadjGBZq0nW2FmriLnD/L+Z7MMMUD2izoM8b+noyEb4oBIBGAZSVj4n6Ag8wyX"
    "6xRkKRb0yCvT/FMJIvrhsf0tCvb9YNSxsNFMvDSso1gH6ESQlwxIsREBjoPfJT0YrSBbAW"
    "HJqA4c0Y/uP/uZ8kfdsJD7k0eqsnHOm6KZWf+xN521H8ch9XTbsx7taVqtm0jrh5uIyryD"
    "CL/0Z18E+lP4bTTsRbXojZv9VqPXBNZYE1XtuwjkAERuqwtjSOlrExrMFS1xexSQqNCmaK"
    "fNKN3eL16Ze1GKVhzcB82AaKl+hRsL4z65IqBKrPewY9A8OYc5L2x/uHPHbfUv0QDfPXMo"
    "OKXIrZMbhti6eXJ+Yfg0GNQshOdAev0ODFkMQU17tKYWafHGxrtWzVW0BahgaaFDb4NetI"
    "N67116AeoStiVJW1tXH7M0o0PqaQYndAaLwB5t7t/w/N2bcWROQKX2B7dET2iJugrPs2EM"
    "ylTQ/mleZNgxNi8Sd4y0K7xvWQHjFabZPz11vYqtsyHMI4coM+y16Xg0awmmruFndfpLe0"
    "z+/w70WgFVZNm7J2/dYzt3e8HJMdM9gTLjXRrDCOhIfIUbEapSHOQZfE9is8JihaAu57aC"
    "uf3ufZulG0be7nswGn52h0etpTDyJiQGDs4LfFiK454fdx2Ypv5iABPmxT4uyfHPjz9dNl"
    "6cXV3WNT0oUzm2q3GTYVFvRK15f1GnXWGIkSnqQGeZiB1NUyBQE/bfAbEIynMidyiYvZbj"
    "Tu7OaDQITe5OPzp7nx47PQK9hTwZhHCCM8JCTZwDhW4Dc5GMcUnONRbnGhVgYvENGoicsQ"
    "jjyJLfA+94PlopE8/oYpJKNJ4Xu3xcy4HTy/ujl0un3Crxy2UDd1eC+b49vW93e2n8sg/1"
    "Aiksv2THEXv4OoEKSIhccGB+IIeoEMxh77ghQ2NHfEb0GFUFaK7hHeGZYorJctPRznElTA"
    "TpkC4c64lj+G3cJzHZWeM97vt20ADfVUSOK0O6MHE3zSndNJ4aYtAmEx1BGc5fZ+CvdQNJ"
    "DAdNF0poBZQEo9uVie76baGPjvAZop2Cbrd3339sDz5c3tQbdxFGw3PLxLxgYOUuKjnw9Y"
    "U4wNsAXsC8s9eROA20F2eEqyitDQOq0ibPAhyVqwLDf2i62YBAQX9BWdRVhqc2dTJHRfms"
    "Tp3VzK1+StIBZlHKZ814HDnNgPOLyQqpLr/o2FL5KMawUJWeuR0tpAiZkw/VoAjHdDtzq7"
    "lc147UbdU4s3qEuw3OqxB5OyGLx6R/P6uxVoQ9AMsI7a0oxOEFMQHk04RgfzaQPIBvkEni"
    "+Z31NCZvSYaRXfUbPAyfN7fZWEvHnMg7KZFn6yAHru54/sJiBctwxu6QJiJ5/+DCEeue8B"
    "GD7JCsuBeSOVq93x30WgKVfFZ7w9nkV3E8aN/3ui0BqtjYiLoCJCi7fQ/9wcDvox4Yq+9b"
    "f+aLvSPsSd2PHseD3oy2S9pKpy8t2toe3vfsA0kUPPsoD+2+1bQAiPyuZXuiwnxMloziRn"
    "JGcSOWUWzfp6QgmGDDpKSJxEWrx4Dt3wthTZ9igMckOd7b8V7rckFaJizJaZmy0DKMaD9W"
    "qEM+8sAX4Dux7dSBY3HsaN9WM5qkHrFt/ZmVN/LrkGbtUMNogSTg3HXMsg3119OMWzUwMp"
    "t5W5u9QEFb47n23hK+GwhjqApIFYhFK5jkMgiMQDXtIjwCMK12mwkREBYMqGsGNusCuRL0"
    "Bg0oC/ONQFD+l30l0PgY3Vsd5YS8CFe5TPFXclt5tlfu+ArG0uy/EpEONooGGPim5a94Ij"
    "slrpQN6mNnrshQXus0ozbP5A4J7WeGn3bxCNvFnxpZDONPjWTLmPbF2ZE1w4menR5Zs1zq"
    "e1tPYnDXdKjKFLR8mNfGvWG3P/zcEhz5Z3XaG9IMf2JoRlmLZ7U7GY3HtEE2NF0vxmOkLe"
    "yutm4TdXUbizwj7/OVzgp4SPbABkSOt+E/VPDIvnlXFb5j0YGogOHMEOepceUxluNBDFYy"
    "IzQMjeEOTs5xD0tVgYs6dn47DxlKXtLOk5vKEjJE36sFVB4Q46tpmVdTnnLKU05LwDvukH"
    "J6SOLRjhZjMI5eGFky1ehnePJi+Wf1MNdTeDrHo5kc8JnMajBEK8dtHMID7RQBLQI5U/hA"
    "e/8qgW5uVnMtV3FCX6KCjPRVliKcV8lFOOPBTIamFI5lcmXLDHTNClByIpOe1fGvk/Zjv9"
    "sS9I0BVkh+Vmftrz1xPBk99Gfk0dGf1elsNBYHo+m0JZgK6Z+0+wOL56NaUSyij9ik015L"
    "kBTNhM/q50m/KzqnsUJWnXPZ7d/oce3md4SL0H6NLEpvJCu9EVO64sbeZnwne+N54fA462"
    "fCP3NA6Yzm5GkMRiQXD6p0ZEu9EHWeyPowX2+on2AwoH4Cu5LFiav/WmAVxN2VLTXuj+3J"
    "1x5Zg+1a0c/qoP9Il2QFrRB2Vnt3iIk1XbTHFVqoM7nTUrxpMWfaaSO5S7Zw7z/X10DLJd"
    "mNF0E5JsvR3oI2L3Rx6IIMVth9ToB9IV4YIH36vpF7Z30RIn3++lJ8gdiCsAHltQRFjXqv"
    "YiinllWOSPLKyjkqK//E8Toj0tQSNPLbMem7jk3v5SL5qUi0bdL7d+/eSloyIP04oJ3jNO"
    "5P7PwmHRm05Wn4dTj6hRx4rb6q2ne1yE7yLsNG8i5xH3nHKB9j5vuUpy9RuWLwB2CG84aA"
    "8OgPHv3Boz/yFaTm+WgV03qWfDReJugwZCvP89sdT57nd8g8P14kqCRFgngd/RNVQB9rJk"
    "pKM/X66mlxX7oziod+VSv0iwfFHDgo5rx80bWFYts2ediwh0F7Rg5GJJ9Vanu3BEWzcti+"
    "jCbUE/qiGYV8oNcZdHGdqIrruCb+yku5uyLcn5HFn2EHKxXzaviy3LexBW0n3ExM2L4mvh"
    "JjcjxwKGrLYl0kSzHLM5dctDsgwgGNAerEOcYBTa5SEJTh39csXqWAF/o/WrQEZH1Hdtt3"
    "QZgfkOXIcqr+p6fqT04pn73JHyOU82QabiGfRyqcaeTPcajnk6riIAXmdmLygmgyyLwI2M"
    "l8nukMFN0vUnJO76we8HoKp5dcdm075XQOJdhqX34d9yaTab8lvJDrMwwT2RlSdnJUEapp"
    "z0FSnFU9NKsKMSbnZ+y6k+3KoAwvf7eDYUlOv0BL8QWYL3mmeESMBwNGZjkjY7nk8bQMqG"
    "UDLHI7ELqT9sOMlrMjss/q5Gk4tIJrjbWqWsG14/aTFVCrg7UVUEsTrcbWEJplpdsF82ZO"
    "UTyryQqnnUxGk5bgBUie+p3A/tRDynqV8HkHToLlWKt4XTUeWVuy1/WZEjc8svZn1HoWuo"
    "68qIxiWg9L8pp65VFy/Nl29lWFtByU5Fous5Z5lPxhHOG8IiWvSFkCR8XWipQ8Qr4kEfKR"
    "D9YWj5MPfSC3IqiHpqlfkrQ4SFX7gHa+bIJAbGEgGYCNpuv93Y5pMLHgLDd0bFRzOGutlw"
    "nDS+u+ZJLds3Sd5m7ZarllMXkTLA2wYm4DO2iZHGIaFqxOiMunZvPy8rZ5cXlzd311e3t9"
    "d+FhHu9KA7/T/0zxrwetJvYe3Po/hn6y0yooUwUe+NAuqwUyTCzmRTksVT2cG80sziQyKu"
    "W70TGHkkJ21GtmsHoy0EGZI3oFoXocF+y+a92cVUFjzwTO43p9mvYmLYFKPqvt7mN/2BKA"
    "vEKFKg3tOV9rrmjSK6sIXWr9roAUr92Vo3YX/fTqG2O2p4LtCx0Ra3ejcrZQG8h8FYEkQb"
    "2Y14Qlz1n1MrPq3Bue/Ao5T78o94b/jFpP8obnSLcIvHHXMmLMjDy0ZZseYqAtz3Z1T2d2"
    "HTJ9R263us6HEFiqhtECScCr0lIcsWHgUFWFy817KY7SjolNZQXpkHWI2tBA0kuNQYk7Pf"
    "U0Uhz4YzgrfrQ39YFZ8TdomEyHUzKJFRCpYLJM8zoLj0JGJTIpVl/EuicPVQ6EneEVRLdx"
    "ke0LWGmfwIplI5EzYsgKlEgO7g+I8FyknPH9OyU37/oy+/F/W+MOLg=="
)
