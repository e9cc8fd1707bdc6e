"""Migration paper_history_lookups (both dialects): paper orders get their client id and paper trades their time
(ms) as columns, filled from each existing row's `data` JSON, so orders and trades no longer kept in memory are
found by client id and read page by page (engine/exchange/paper_store.py)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""
        ALTER TABLE "paper_orders" ADD "client_order_id" VARCHAR(64);
        ALTER TABLE "paper_trades" ADD "ts" BIGINT NOT NULL DEFAULT 0;
        UPDATE "paper_orders" SET "client_order_id" = json_extract("data", '$.info.client_order_id');
        UPDATE "paper_trades" SET "ts" = COALESCE(CAST(json_extract("data", '$.ts') AS INTEGER), 0);
        CREATE INDEX "idx_paper_order_account_64cf59" ON "paper_orders" ("account_id", "client_order_id");
        CREATE INDEX "idx_paper_order_account_b9952e" ON "paper_orders" ("account_id", "open");
        CREATE INDEX "idx_paper_trade_account_18741c" ON "paper_trades" ("account_id", "symbol", "seq");
        CREATE INDEX "idx_paper_trade_account_5f5ccf" ON "paper_trades" ("account_id", "symbol", "ts");"""

_POSTGRES_UP = r"""
        ALTER TABLE "paper_orders" ADD "client_order_id" VARCHAR(64);
        ALTER TABLE "paper_trades" ADD "ts" BIGINT NOT NULL DEFAULT 0;
        UPDATE "paper_orders" SET "client_order_id" = "data"->'info'->>'client_order_id';
        UPDATE "paper_trades" SET "ts" = COALESCE(("data"->>'ts')::BIGINT, 0);
        CREATE INDEX IF NOT EXISTS "idx_paper_order_account_64cf59" ON "paper_orders" ("account_id", "client_order_id");
        CREATE INDEX IF NOT EXISTS "idx_paper_order_account_b9952e" ON "paper_orders" ("account_id", "open");
        CREATE INDEX IF NOT EXISTS "idx_paper_trade_account_18741c" ON "paper_trades" ("account_id", "symbol", "seq");
        CREATE INDEX IF NOT EXISTS "idx_paper_trade_account_5f5ccf" ON "paper_trades" ("account_id", "symbol", "ts");"""

_SQLITE_DOWN = r"""
        DROP INDEX IF EXISTS "idx_paper_trade_account_5f5ccf";
        DROP INDEX IF EXISTS "idx_paper_trade_account_18741c";
        DROP INDEX IF EXISTS "idx_paper_order_account_b9952e";
        DROP INDEX IF EXISTS "idx_paper_order_account_64cf59";
        ALTER TABLE "paper_orders" DROP COLUMN "client_order_id";
        ALTER TABLE "paper_trades" DROP COLUMN "ts";"""

_POSTGRES_DOWN = r"""
        DROP INDEX IF EXISTS "idx_paper_trade_account_5f5ccf";
        DROP INDEX IF EXISTS "idx_paper_trade_account_18741c";
        DROP INDEX IF EXISTS "idx_paper_order_account_b9952e";
        DROP INDEX IF EXISTS "idx_paper_order_account_64cf59";
        ALTER TABLE "paper_orders" DROP COLUMN "client_order_id";
        ALTER TABLE "paper_trades" DROP COLUMN "ts";"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXVt32rgW/itavJzOWpxOQ9M2w3kiCWmZEuAAmenMMMsVtgBPjO360oSZ0/9+JPluy8"
    "Y2N+PqJYtI2r58kqV93/801pqEFPNlx5Zkq68tG23wT0OFa4R/JPqaoAF1PeghDRacK3Qw"
    "JKMExR02Ny0DihbuWEDFRLhJQqZoyLolaypuVW1FIY2aiAfK6jJoslX5i40ES1sia4UM3P"
    "HHn7hZViX0jEzvX/1RWMhIkSLPK0vk3rRdsDY6beup1h0dSO42F0RNsddqMFjfWCtN9UfL"
    "qkVal0hFBrQQubxl2OTxydO5r+q9kfOkwRDnEUM0ElpAW7FCrzsXgraGIAyGU2HSnQpCow"
    "BAoqYScPGjmvTtl+QR/t26uHx3efX67eUVHkIf02959825dQCMQ0jhGUwb32g/tKAzgmIc"
    "gIpnUTMECyloacC1wML4Wl6mwswk3466h3EIdhdUH3VvSAB7sNSOh/tPrdbr1+9ar16/vX"
    "pz+e7dm6tX/gQku7Jm4rr3nkwGHqDhL8f5przZicwGec7EFNysoJE6AS5FDHX8MjlQTyz2"
    "U8O+hs+CgtSltcL/vr3MQPSXzvjmQ2f84u3lD1FYB25Pi3ZFAdbmfyHRckAqgHKM7HhQNx"
    "pHAfp1KwfQr1upQJMuJtCs/WQrzMxd5PxB3v9qlpAFZeegjkL882Q4YEMcIokBLMmiBf4H"
    "FNk8w+06A1mCBbny2jS/KGFEX9x3PsXBvukPryk2mmktDXoVeoHrGPKigQg2ArSS4N/iHk"
    "teI/YERCnjc+CSvvR+7GfJH5Vhwe8nDVVl4943Y2amvfvuZNq5H0Wm57Yz7ZKeFm3dxFpf"
    "vI1NmX8R8Gtv+gGQf8Hvw0E3Pov+uOnvDfJM0LY0QdWeBCiFIPJaPRgjk26byGDuaKnsUY"
    "iiRkzRTswoYe8Xj0xelKCVBPdOM5C8VD+iDcW4h58IqiLrHHYFmgf3MueF7Tdv7XitwSMa"
    "8MkXh8JLCr86fmFk0ZfH9weDh36/QRGeQ/HxCRqSEIGa9GgtLdbij012rVvreAtU4ZKiQ1"
    "6DPLSLevdZXEF1iTqiqNn06ROSZnxIM0vgRO5gATqjzf0Lnn/4Kw6vCaQ0/uSS6AklUW/C"
    "izCMYZoayj+tVzk4xtarVI6RdEX5ljU0HlGW/NNV7XVin41gHrtElWFvTEbDaRuYumbN1M"
    "mvnRH+/QT1RompyMO7p7PuCc7d2XAKrHSfoMp4V0YwgrosPKKNgFQxCfIUPadps6JkpaCu"
    "JlvBZL+7n6bZgpHPffeHg/fe8Li0FEXeRFjAsYoCH6XiuBfHXYemqa8MaKKi2CcpOf7F8S"
    "fbxsrl6vLu6WGa2mm7Lt7m2NQv4tJ8sKmTrijEsinoUGeJiNeapiCopvDfIbIYynNMdyiY"
    "/ZbjLu7r4bAfWdzXvfjqfbi/7mLoKfJ4kGylGCMwcBJaa8Xh9qg42gXQpmtUmEOFMN2FVL"
    "pJSq7ZLa/ZdTQqZTS7Uco9aHbPZyaqpMn1MMlU5SrQtISvyJDx25SZaxY9n/Eqz/h5WWyO"
    "K41zk83+TDaVm9w62WyqBu6uRpubzuSmc9vNstkEUC9khWXrv3bJ7j6OkQJTvIFcmO/wJW"
    "oEc9TjxJCQsSM+Q3KNugLkyAn7gGlErvQLUm30HQCG+yWWQFYOsCm5Wl0Bm2vWjkBNLILJ"
    "cnOtneNZmwpSIcN7fAF+JesmHdahiqYa/lNkFZ6tKMKGtoCbAj0BGb4J3smY7pDgH7/7dk"
    "KAgTsE3WsIo8BdEU7piuBPQwLadGV+mIbbaHPYaHVDFhnb2i0S5TVUUlSdHk1cCneIXrrE"
    "Z4h2Brq33Zvefaf/4vXb5sVVTI/sux4kPD3g2ttUCuAbEHGAtwG8QEVXr0txGmhfnRGugm"
    "gbBlLFTZENOE5XByv2oU2qBoKK/DeSBF1leCNlLuY4KV/VmauaKRhlBNZZLEPeWWsgjxxK"
    "x/X96RNSX32/K0sVU/lHier0ze0oIcWUq8VQDZNwTLdbUjRPlbqjKaVuKtlmzJYSXlcRY8"
    "oYbx7j3s20wdoR9gAsI3ylphBHN8QUkE8TZvTekKU++oqYSrygs5mlyVviYZir/ooOo8+b"
    "O7prOsdckXdSRZ4zBwVw9cbzA4vlosg1docUEfH5Y5WOyvKJj+hILkuK9yC5I7J6t/1uGx"
    "DKmdodTMe/CaN+56Z72wZItYyNoCtQRJLXd9fr94M+YoGhfZ9604DsWbZ8qpvh/ajfnZJ2"
    "UVvr1B8Tt3YGN13nQiIBz7nKXadHmxZQxv838n1RUX1MnqwZF+lZMy4SWTOc9xQVGaXIMB"
    "mhkEnS+mnA9m+FoMunHOAJSo73drxtXSqplolScrVMVdQyDO9blmNIMeVBQMA5se2qA1fi"
    "2FG+rafvTTMm2wYrq6gn5iHF2oFmyQtZhO5bJyTbSH8zS7hVQyPzibeN6QoBzbbm2nMbPB"
    "myZSEVyCrAEi0w8WNgGKFqOonmADRpu6MJAbIFDKRrhmU2AX4S+SsykATmG4BR/tF5EmS8"
    "jPNWR7khTzRZLVH8Eb9WEfbKG19DX5r9Z9vT4UbRIAPfrKhBn2SncMGqQX38eEHJ1knWiC"
    "KLO0K0nxV+2s0jKhf/dJFHMP7pIl0yJn1J7YjNMKLnV4/YLJP63vaTBNwNHakSAa0Y5o1R"
    "d3DbG7xvA5d+pk66A5LFBguaca3FTL0dD0cj0iAZmq6X02NkbezebL1Lnat3Cc8zfJ6vdZ"
    "bDQ7oFNkRyPIb/UM4j+9a7qujZElyISgjODHIeqlodYTnpxECDi5FhaAxzcHoelyhVHXRR"
    "x87h4goUKSf59kMmTF9h/Bv/feg+kCMD38QmZ8jEO3HM0Il12jNEh1jEE8iRV+AUiRLxcy"
    "ThEqdAvLdLwrwQrxqlqvC6row05iFWwvUwQslP6Sqf0tzBNP0DO09LRh4HU3K6lJjyEBn/"
    "qqv8VfOEITxhSAWsVDskDDmkmcrxLWbYp3yn43TDVJB4gpcPO6uPuZlh1XH9X9LDA7Lkig"
    "Rp7TThh/BXcssilIGcSXwgia5OoJub9VwrlK49oKih/fIyT1mCy/SyBEnXV0NTSnu+erRV"
    "BrpB3VldP9aZOvpt3Lnv3baBvjHgWpZm6rTzsSuMxsO73hR/OvpMnUyHI6E/nEzawFRw/7"
    "jT61MdHZkVhZqFbnB3tw1ERTPRTH0/7t0K7m1ogIN7L6f9E7mu0/wsW2UUfBd5Jv0ifdIv"
    "EpOueJEaOc9kfzwvpZTU7ZnoSwEo3dFcRZqAUZbKu+C7tJXeiK4f8P4wtzdE69/vE5W/k/"
    "foxPVQKFglcfdoK437fWf8sYv3YKd6zkzt9+7JlqzIa9lyd3tviGlpuuCMK7VR53K+yPC9"
    "SLhenDbup2Ib9/4zQxjycom58TIoJ2g52lvQ5mmRDp2+hwZpFQQ4IOJpZLKX71f87qwaed"
    "nrN6DiG8QWhA0k2SISNGK9SqCcWfkkRsmrnxSofvIde3cOcVMbaPh/V6S/dWV6P3I1CFwl"
    "bePuz90bGuJqIFIu3YmIHfXGTjSsLhuk5WHwcTD8FV/YVh9V7Uktw0le5WAkr1L5yCtGsj"
    "HTiV7Jq0ULKGpXHusAmuGiDoPcV3AHX0Hu/ZG+0Ovr/cGjl+s26wynkET0Mk8qdxhlK48K"
    "3x1PHhV+yKhwnlKuIinleBWkfVUXKejxFaoZwnD7ilYUSff9ChUyyZmToAMoDXDXzb9MYM"
    "prWyGzBTw3liZ4WkELyCZQNQtAFVC3FvwXQEDLMbSBVxW1CTBPINOcCE1ADMlEH9akmQVI"
    "3FRcOj7y7WcqFu8lBYEFvjy5reM+gq8p0TGyBEyE1yC5FHiBRUhZRT96j/GjAy5NAPaSzs"
    "WE/CSJE0i88g8vwWd8PxPf+zNYGtqTCeabmaqpCDzJ1gqQh9kA/42CbAxkRDgRAx1NnsZ5"
    "Tfps5C0BvaZFoHCTNFiaLa6QxNMwVNBhz10KBZANUXB/AZbekqGNT0+7kJanjyddaBdIus"
    "Dl8PQVzuXwg8vhZ39CJKTGIuEEOQQhrybd8cSgk07JHoQgdmDHnlj31LANRiHPbUx8gTAO"
    "sgw8pniBmeIIS034U9kyARUKwErDb0Sye70Ic7OOmzreEP4yNfWH/4DPmAv+TBhuQoiZ4l"
    "lj+A9u+jZrJHOMHfne2yr7EY/LeC7wyABiAGzgAZHGeIzEn5xZPiazXHGn2sojGypuQVZ3"
    "AspMdwqP5Ih+FN7aPVs3igqEY1XMLnxoqzvZO4rIf954Lv7tIP5VRhA49eI+rAGJ2zmOwO"
    "IfLXY7XoM+Uxzwy9RvEweoCriAOIDnTrSpPpnk9o2x5REG3CmonMWAT10G3NeTU9sQEG3D"
    "1BhZh49/+52FgiCMlA6NSQdBL16jXDTgosEZIcuDq48WXF310rMHtvUcue4sFwi4QHDWez"
    "MXCL4XgcB1SWmwJAGvL1sE8JxacvH/6dByJ5GKMbecJTssS3ZeaSYaC8VxlygS6HbX70zx"
    "xTDlTCVhNW2gaLSYwYfhmCQ5WGlGqfQGb3LMxZvUqXiTnIm/i0bTeiQ8VLmdI1TZyUNUEO"
    "IELQ9b3oK2m0lKSGHQ0nOmx+lqI/ftTUFh6UQlyAq6TxehQyQc0ASgbgqzImJymGYnUfl8"
    "NoKDSMoGggo+vyRBVxkMXuamHCfl51/mjrxAiKF4y06D4pJwZDOR5d6/6Vt1fb1/Tx4tev"
    "Yi/568fplxpQU9fneMKj0Lb99ClYZ30uSF0WQo82Jgp+vzTHeggB+d6/TO7wNvZuj00uvv"
    "blc5nUMt3saH30bd8XjSa4MVfj7DMGUn+bGT97iMqmnP+Y+4VvXQWlVkWfj+DK47Ix4vRM"
    "NNsDsIlvj2C3kprKC5KrLEY2Q8z1dslTOKEVQ8VR4DasmAi8IGhNtx525K6hpj2pk6fhgM"
    "aN48w1ZVmjdv1HmgufJ0aNNceSSH8sgpY2lpuu5UTp661ZFpE82UNx4Px23g5z479Zlwmv"
    "jh71wJxgvs8qR5FTuuz1Rxw5PmfY+znkddhw8qo9ysRyl5uczqTHLy23b5qlKzHKbks1zl"
    "WebutYcxhPNis7zYbAUMFVuLzfLklwfzAS+W/JJW8KN18HZMgfkeX6jv1dOrCerRhBN+mp"
    "ryIPk5ceoCUKFogpBvYSgYgI2mZ/3djmk4sOAsGTo2qgWMtfQwYVhpvUMm3TxL9mlulq2X"
    "WdbCJ8HSgGsmG5gZpRklrI+Ly5HjNclHRX8n0E83WoVp6qAHPrTJaiEbpiUURTlKVT+cL1"
    "p5jEl4VHqpzlbCoKRgjtpmOqunAx2mOaJV0EnvdXic913G6qxqlfsicBHT68OkO24DQjlT"
    "O7f3vUEbQGktlyoitud4rbmiiY+IdVZm5ZILUfGyfAXyyZHU718Zqz0T7ICIp+7LD7Uhm4"
    "8CFEWkl7OasOi5Vr3KWnVuDU8/Qs7TLsqt4d/jrKdZwwuEW4ROXFuSGSujiNqyQy7R15Zn"
    "u7tna3ZdZfqOut36Gh8iYKmaJS9kEfpZWsojNghdqq5weXEv5VHaMbCpqiAdMg9RBxmyuG"
    "owVOJuTzNLKQ6DMVwrfrST+lRVqtKVWOllquoQLNN6k0ePgkelalJoX0y6xx9VAYTd4TVE"
    "9+JVnlgkPCpdE/sqEY2E72ghlqNEunN/iITHIhX0798puHnXw+zb/wFUmtae"
)
